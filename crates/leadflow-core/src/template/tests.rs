use super::*;
use crate::Email;

const WELCOME: &str = include_str!("../../../../examples/template-trial-welcome.toml");

fn problems(source: &str) -> Vec<String> {
    match Template::parse(source) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

fn sender() -> Sender {
    Sender { name: "Ana Rep".into(), email: "ana@yourco.example".into(), signature: Some("Ana\nYourCo".into()) }
}

fn render(template: &Template, profile: &Profile) -> Rendered {
    let sender = sender();
    template.render(&RenderInput { profile, sender: &sender, unsubscribe_url: "https://t.example/u/abc" }).unwrap()
}

#[test]
fn the_example_renders_with_values_and_fallbacks() {
    let t = Template::parse(WELCOME).unwrap();
    assert_eq!((t.name(), t.has_html()), ("trial-welcome", true));
    let mut profile = Profile::new(Email::parse("kim@acme.example").unwrap());
    profile.first_name = Some("Kim".into());
    let r = render(&t, &profile);
    assert_eq!(r.subject, "Welcome to your trial, Kim");
    assert!(
        r.text.starts_with("Hi Kim,\n\nthanks for starting a trial. Three things teams like yours\n"),
        "{}",
        r.text
    );
    assert!(r.text.contains("Ana\nYourCo\n\nUnsubscribe: https://t.example/u/abc"), "{}", r.text);
    let html = r.html.unwrap();
    assert!(html.contains("<p>Ana Rep</p>") && html.contains("<a href=\"https://t.example/u/abc\">"), "{html}");
    // No first name: the fallback; a blank one counts as none.
    profile.first_name = Some("  ".into());
    assert_eq!(render(&t, &profile).subject, "Welcome to your trial, there");
    assert_eq!(
        t.variables(),
        [
            &Variable::Lead(FieldRef::parse("first_name").unwrap()),
            &Variable::Lead(FieldRef::parse("company").unwrap()),
            &Variable::OwnerSignature,
            &Variable::UnsubscribeUrl,
            &Variable::OwnerName,
        ]
    );
}

/// What a lead sent is text: in HTML it is escaped, in the subject it stays on one line.
#[test]
fn values_are_escaped_for_html_and_kept_off_other_header_lines() {
    let t = Template::parse(
        "name = \"t\"\nsubject = \"Hi {{ lead.company }}\"\ntext = \"{{ lead.company }}\"\nhtml = \"<b>{{ lead.company }}</b>\"\n",
    )
    .unwrap();
    let mut profile = Profile::new(Email::parse("x@acme.example").unwrap());
    profile.company = Some("<script>alert('x')</script> & Co\r\nBcc: victim@example.com".into());
    let r = render(&t, &profile);
    assert_eq!(r.subject, "Hi <script>alert('x')</script> & Co Bcc: victim@example.com");
    assert!(!r.subject.contains(['\r', '\n']));
    assert_eq!(
        r.html.unwrap(),
        "<b>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co\r\nBcc: victim@example.com</b>"
    );
    assert_eq!(r.text, "<script>alert('x')</script> & Co\r\nBcc: victim@example.com");
}

#[test]
fn custom_fields_numbers_and_literal_braces() {
    let t = Template::parse(
        "name = \"t\"\nsubject = \"s\"\ntext = '''{{ lead.custom.plan }} {{ lead.custom.seats }} {{ \"{{\" }}x}}'''\n",
    )
    .unwrap();
    let mut profile = Profile::new(Email::parse("x@acme.example").unwrap());
    profile.custom.insert("plan".into(), crate::CustomValue::Text("pro".into()));
    profile.custom.insert("seats".into(), crate::CustomValue::Number(12.0));
    assert_eq!(render(&t, &profile).text, "pro 12 {{x}}");
}

#[test]
fn every_problem_is_reported_at_its_line() {
    let source = r#"name = "welcome mail"
colour = "red"
subject = "Hi {{ lead.frist_name }}"
text = """
Hello {{ }},
your plan: {{ lead.custom.plan | upper }}
{{ owner.name | default(there) }}
and {{ unsubscribe_url
"""
"#;
    let found = problems(source);
    let expected = [
        "line 1, column 8: name: expected 1-64 characters",
        "line 2, column 1: colour: unknown key",
        "line 3, column 18: subject: unknown variable `lead.frist_name` (expected one of: lead.email",
        "line 5, column 7: text: an empty `{{ }}`: name a variable",
        "line 6, column 34: text: `upper` after `|`: only a fallback may follow",
        "line 7, column 17: text: `default(there)` after `|`",
        "line 8, column 5: text: `{{` is not closed by `}}`",
    ];
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (found, expected) in found.iter().zip(expected) {
        assert!(found.starts_with(expected), "{found:?} does not start with {expected:?}");
    }
}

#[test]
fn a_subject_and_a_text_are_required_and_a_subject_is_one_line() {
    let found = problems("name = \"t\"\n");
    assert!(found[0].contains("subject: missing (required)") && found[1].contains("text: missing (required)"));
    let found = problems("name = \"t\"\nsubject = \"\"\"\nline one\nline two\"\"\"\ntext = \" \"\n");
    assert!(found.iter().any(|p| p.contains("subject: a subject is one line")), "{found:?}");
    assert!(found.iter().any(|p| p.contains("text: must not be empty")), "{found:?}");
    let big = format!("name = \"t\"\nsubject = \"s\"\ntext = \"{}\"\n", "x".repeat(MAX_TEMPLATE_BYTES));
    assert!(problems(&big)[0].contains("over the limit"));
}

/// A render that would grow past the limit is refused, not sent.
#[test]
fn a_render_past_the_limit_is_refused() {
    let body = "{{ lead.company }}".repeat(200);
    let t = Template::parse(&format!("name = \"t\"\nsubject = \"s\"\ntext = \"{body}\"\n")).unwrap();
    let mut profile = Profile::new(Email::parse("x@acme.example").unwrap());
    profile.company = Some("y".repeat(10_000));
    let sender = sender();
    let input = RenderInput { profile: &profile, sender: &sender, unsubscribe_url: "" };
    assert!(matches!(t.render(&input), Err(RenderError::TooLong { part: "text", .. })));
}

#[test]
fn every_variable_reads_back_from_its_name() {
    let mut names: Vec<String> = crate::lead::Field::ALL.iter().map(|f| format!("lead.{}", f.name())).collect();
    names.extend(Variable::OTHERS.iter().map(|s| s.to_string()));
    names.push("lead.custom.plan".into());
    for name in names {
        assert_eq!(Variable::parse(&name).map(|v| v.name()), Some(name.clone()));
    }
    assert_eq!(Variable::parse("first_name"), None, "a lead's field is `lead.<field>`");
}
