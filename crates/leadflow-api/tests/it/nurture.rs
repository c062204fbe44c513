//! A server with mail configured runs sequences and sends through a real SMTP server; the
//! email's unsubscribe link, followed as a person (the page, then its button) or as a mail
//! client's one-click POST, stops everything and is recorded on the lead.

use leadflow_api::{MailConfig, ServerConfig};
use leadflow_mail::testing::{SmtpSink, unfolded};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::Server;

const TEMPLATE: &str = r#"
name = "hello"
subject = "Hello {{ lead.first_name }}"
text = "Hi. Unsubscribe: {{ unsubscribe_url }}"
html = '<p>See <a href="https://yourco.example/pricing?plan=pro&amp;x=1">pricing</a>.</p>'
"#;
const SEQUENCE: &str = "name = \"hello\"\n[[steps]]\nid = \"hello\"\nsend = \"hello\"\n[[steps]]\nid = \"week\"\nwait = { days = 7 }\n[[steps]]\nid = \"again\"\nsend = \"hello\"\n";
const PUBLIC_URL: &str = "https://lf.yourco.example";

fn with_mail(sink: &SmtpSink) -> ServerConfig {
    let mut config = ServerConfig::default();
    // The test drives the job queue itself.
    config.jobs.poll_interval_ms = 0;
    config.mail = MailConfig {
        smtp_host: "127.0.0.1".into(),
        smtp_port: sink.port(),
        security: "none".into(),
        from_name: "YourCo".into(),
        from_address: "hello@yourco.example".into(),
        public_url: PUBLIC_URL.into(),
        link_secret: "a link secret of at least 32 characters".into(),
        send_hours: "mon-sun 00:00-24:00".into(),
        ..MailConfig::default()
    };
    config
}

/// The first address in a message that starts with `prefix`, up to a quote.
fn link(message: &str, prefix: &str) -> String {
    let start = message.find(prefix).unwrap_or_else(|| panic!("no {prefix} in {message}"));
    message[start..].split(['"', '>', ' ', '\r', '\n']).next().unwrap().replace("&amp;", "&")
}

/// The unsubscribe link's path in a message.
fn unsubscribe_path(message: &str) -> String {
    let start = message.find(&format!("{PUBLIC_URL}/u/")).expect("an unsubscribe link") + PUBLIC_URL.len();
    message[start..].split(|c: char| c.is_whitespace() || c == '>').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_server_sends_and_its_unsubscribe_link_stops_everything() {
    let sink = SmtpSink::start();
    let s = Server::start_with(with_mail(&sink)).await;
    for (path, source) in [("/v1/templates", TEMPLATE), ("/v1/sequences", SEQUENCE)] {
        let (status, body) = s.admin(Method::POST, path, Some(json!({"source": source}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let lead = json!({"email": "ana@acme.example", "first_name": "Ana"});
    assert!(s.admin(Method::PUT, "/v1/leads", Some(lead)).await.0.is_success());
    let enroll = json!({"lead": "ana@acme.example"});
    let (status, body) = s.admin(Method::POST, "/v1/sequences/hello/enrollments", Some(enroll)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s.state.schedule_jobs().await.unwrap();
    s.state.run_due_jobs().await.unwrap();

    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "sent by the server's job queue");
    let (message, _) = &messages[0];
    assert!(message.contains("Subject: Hello Ana"), "{message}");
    assert!(message.contains("From: YourCo <hello@yourco.example>"), "the team sender for an unowned lead");
    let path = unsubscribe_path(message);

    // The page asks; it unsubscribes nobody by being fetched.
    let page = s.client.get(format!("{}{path}", s.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<strong>ana@acme.example</strong>"));
    let (_, body) = s.admin(Method::GET, "/v1/leads/ana@acme.example/enrollments", None).await;
    assert_eq!(body["enrollments"][0]["active"].as_bool(), Some(true), "still enrolled after the page: {body}");

    // A mail client's one-click POST.
    let one_click = s
        .client
        .post(format!("{}{path}", s.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status(), StatusCode::OK);
    let (_, body) = s.admin(Method::GET, "/v1/leads/ana@acme.example/enrollments", None).await;
    let enrollment = &body["enrollments"][0];
    assert_eq!(
        (enrollment["active"].as_bool(), enrollment["exit_reason"].as_str()),
        (Some(false), Some("unsubscribed"))
    );
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let events: Vec<&str> = view["timeline"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(events.contains(&"email_unsubscribed"), "an event on the lead: {events:?}");
    // Again (the person's button after the client's POST): the same page, nothing new.
    let again = s.client.post(format!("{}{path}", s.base)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let count = view["timeline"].as_array().unwrap().iter().filter(|e| e["type"] == "email_unsubscribed").count();
    assert_eq!(count, 1, "recorded once");

    // A link for another send, or with its signature changed, is no link.
    let (id, signature) = path.trim_start_matches("/u/").split_once('.').unwrap();
    let other: i64 = id.parse::<i64>().unwrap() + 1;
    for forged in [format!("/u/{other}.{signature}"), format!("/u/{id}.{}", "0".repeat(signature.len())), "/u/x".into()]
    {
        let response = s.client.post(format!("{}{forged}", s.base)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{forged}");
    }
    // Enrolling it again in a sequence that sends is refused with its code.
    let enroll = json!({"lead": "ana@acme.example"});
    let (status, body) = s.admin(Method::POST, "/v1/sequences/hello/enrollments", Some(enroll)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("not_reenrollable")), "{body}");
    assert_eq!(sink.messages().len(), 1, "nothing more was sent");

    // What the sequence's emails did.
    let (status, metrics) = s.admin(Method::GET, "/v1/sequences/hello/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let total = &metrics["sequences"][0]["total"];
    assert_eq!((total["sent"].as_u64(), total["unsubscribed"].as_u64()), (Some(1), Some(1)), "{metrics}");
    assert_eq!((total["delivered"].as_u64(), total["unsubscribe_rate"].as_f64()), (Some(1), Some(1.0)));
    assert_eq!(total["cancelled"].as_u64(), Some(0), "the second email was never planned: the enrollment ended first");
    let step = &metrics["sequences"][0]["steps"][0];
    assert_eq!(
        (step["step"].as_str(), step["template"].as_str(), step["open_rate"].as_f64()),
        (Some("hello"), Some("hello"), Some(0.0))
    );
    let (_, all) = s.admin(Method::GET, "/v1/reports/nurture", None).await;
    assert_eq!(all["templates"][0]["template"], "hello");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_do_not_contact_list_takes_entries_by_channel_and_keeps_their_first_reason() {
    let s = Server::start().await;
    let entry = json!({"address": " Bo@Acme.example ", "note": "asked on a call"});
    let (status, body) = s.admin(Method::POST, "/v1/do-not-contact", Some(entry.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["address"].as_str(), body["channel"].as_str(), body["reason"].as_str(), body["added"].as_bool()),
        (Some("bo@acme.example"), Some("email"), Some("manual"), Some(true))
    );
    assert_eq!(body["created_by"], "admin@yourco.example");
    let again = json!({"address": "bo@acme.example", "reason": "bounced"});
    let (status, body) = s.admin(Method::POST, "/v1/do-not-contact", Some(again)).await;
    assert_eq!(
        (status, body["added"].as_bool(), body["reason"].as_str()),
        (StatusCode::OK, Some(false), Some("manual"))
    );
    let phone = json!({"address": "+49 30 1234567", "channel": "phone", "reason": "unsubscribed"});
    assert_eq!(s.admin(Method::POST, "/v1/do-not-contact", Some(phone)).await.0, StatusCode::CREATED);
    for bad in [
        json!({"address": "nobody"}),
        json!({"address": "x@y.example", "channel": "fax"}),
        json!({"address": "x@y.example", "reason": "because"}),
    ] {
        let (status, body) = s.admin(Method::POST, "/v1/do-not-contact", Some(bad.clone())).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{bad}"
        );
    }
    let (_, list) = s.admin(Method::GET, "/v1/do-not-contact?limit=1", None).await;
    assert_eq!(list["entries"].as_array().unwrap().len(), 1);
    let next = list["next_after"].as_i64().expect("a next page");
    let (_, page) = s.admin(Method::GET, &format!("/v1/do-not-contact?after={next}"), None).await;
    assert_eq!(page["entries"][0]["channel"], "phone");
    assert_eq!(page["next_after"], serde_json::Value::Null);
    let (_, bos) = s.admin(Method::GET, "/v1/do-not-contact?address=BO@acme.example", None).await;
    assert_eq!(bos["entries"].as_array().unwrap().len(), 1);
    // A sales key reads the list but does not change it.
    let (status, _) = s.call(Some(leadflow_core::Role::Sales), Method::GET, "/v1/do-not-contact", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.call(Some(leadflow_core::Role::Sales), Method::POST, "/v1/do-not-contact", Some(entry)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A listed lead is not enrolled in a sequence that sends.
    for (path, source) in [("/v1/templates", TEMPLATE), ("/v1/sequences", SEQUENCE)] {
        assert_eq!(s.admin(Method::POST, path, Some(json!({"source": source}))).await.0, StatusCode::OK);
    }
    assert!(s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "bo@acme.example"}))).await.0.is_success());
    let enroll = json!({"lead": "bo@acme.example"});
    let (status, body) = s.admin(Method::POST, "/v1/sequences/hello/enrollments", Some(enroll.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("do_not_contact")), "{body}");

    let (status, _) = s.admin(Method::DELETE, "/v1/do-not-contact/email/bo@acme.example", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.admin(Method::DELETE, "/v1/do-not-contact/email/bo@acme.example", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    assert_eq!(
        s.admin(Method::POST, "/v1/sequences/hello/enrollments", Some(enroll)).await.0,
        StatusCode::CREATED,
        "off the list"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pixel_and_the_links_of_an_email_count_and_lead_only_where_they_were_signed_to() {
    let sink = SmtpSink::start();
    let s = Server::start_with(with_mail(&sink)).await;
    for (path, source) in [("/v1/templates", TEMPLATE), ("/v1/sequences", SEQUENCE)] {
        assert_eq!(s.admin(Method::POST, path, Some(json!({"source": source}))).await.0, StatusCode::OK);
    }
    assert!(s.admin(Method::PUT, "/v1/leads", Some(json!({"email": "ana@acme.example"}))).await.0.is_success());
    let enroll = json!({"lead": "ana@acme.example"});
    assert_eq!(s.admin(Method::POST, "/v1/sequences/hello/enrollments", Some(enroll)).await.0, StatusCode::CREATED);
    s.state.schedule_jobs().await.unwrap();
    s.state.run_due_jobs().await.unwrap();
    let message = unfolded(&sink.messages()[0].0);
    let pixel = link(&message, &format!("{PUBLIC_URL}/o/")).replace(PUBLIC_URL, &s.base);
    let click = link(&message, &format!("{PUBLIC_URL}/c/")).replace(PUBLIC_URL, &s.base);
    assert!(click.ends_with("?u=https%3A%2F%2Fyourco.example%2Fpricing%3Fplan%3Dpro%26x%3D1"), "{click}");

    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let gif = no_redirects.get(&pixel).send().await.unwrap();
    assert_eq!((gif.status(), gif.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/gif"));
    let bytes = gif.bytes().await.unwrap();
    assert!(bytes.starts_with(b"GIF89a"));
    let forged = no_redirects.get(format!("{}/o/1.00.gif", s.base)).send().await.unwrap();
    assert_eq!(
        (forged.status(), forged.bytes().await.unwrap()),
        (StatusCode::OK, bytes),
        "the same pixel, recording nothing"
    );

    let followed = no_redirects.get(&click).header("User-Agent", "Mozilla/5.0 (X11; Linux)").send().await.unwrap();
    assert_eq!(followed.status(), StatusCode::FOUND);
    assert_eq!(followed.headers()["location"], "https://yourco.example/pricing?plan=pro&x=1");
    let elsewhere = click.split("?u=").next().unwrap().to_string() + "?u=https%3A%2F%2Fevil.example%2F";
    let refused = no_redirects.get(&elsewhere).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND, "signed for one address only");

    // Both came within seconds of sending: a machine's open and a scanner's click, kept apart.
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let mut events: Vec<&str> =
        view["timeline"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    events.sort();
    assert_eq!(events, ["email_machine_open", "email_scanner_click"], "{view}");
}

/// A reply from a mail client to the message with this Message-ID.
fn reply(message_id: &str, automatic: bool) -> String {
    let auto = if automatic {
        "Auto-Submitted: auto-replied\r\nSubject: Automatic reply: Hello\r\n"
    } else {
        "Subject: Re: Hello\r\n"
    };
    format!(
        "From: Ana <ana@acme.example>\r\nTo: hello@yourco.example\r\n{auto}Message-ID: <CAF{}@mail.acme.example>\r\n\
         In-Reply-To: {message_id}\r\nReferences: {message_id}\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain\r\n\r\nSounds good, call me tomorrow.\r\n",
        automatic as u8
    )
}

/// A Postfix delivery status notification of a hard bounce, to the VERP address.
fn hard_bounce(message_id: &str) -> String {
    format!(
        "From: MAILER-DAEMON@mx.acme.example (Mail Delivery System)\r\nTo: bounces@yourco.example\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nThe mail system: <bo@acme.example>: user unknown\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.acme.example\r\n\r\n\
         Final-Recipient: rfc822; bo@acme.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 <bo@acme.example>: Recipient address rejected\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\nSubject: Hello\r\n\r\n--B--\r\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_and_bounces_that_come_back_are_recorded_against_their_send() {
    let sink = SmtpSink::start();
    let s = Server::start_with(with_mail(&sink)).await;
    for (path, source) in [("/v1/templates", TEMPLATE), ("/v1/sequences", SEQUENCE)] {
        assert_eq!(s.admin(Method::POST, path, Some(json!({"source": source}))).await.0, StatusCode::OK);
    }
    for email in ["ana@acme.example", "bo@acme.example"] {
        assert!(s.admin(Method::PUT, "/v1/leads", Some(json!({"email": email}))).await.0.is_success());
        let enroll = json!({"lead": email});
        assert_eq!(s.admin(Method::POST, "/v1/sequences/hello/enrollments", Some(enroll)).await.0, StatusCode::CREATED);
    }
    s.state.schedule_jobs().await.unwrap();
    s.state.run_due_jobs().await.unwrap();
    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    let id_of = |to: &str| {
        let (message, envelope) = messages.iter().find(|(m, _)| m.contains(&format!("To: {to}"))).unwrap();
        let id = message.lines().find_map(|l| l.strip_prefix("Message-ID: ")).unwrap().trim().to_string();
        (id, envelope.clone())
    };
    let (ana_id, _) = id_of("ana@acme.example");
    let (bo_id, bo_envelope) = id_of("bo@acme.example");
    let post = |body: String, to: Option<String>| {
        let url = match to {
            Some(to) => format!("{}/v1/inbound/email?to={to}", s.base),
            None => format!("{}/v1/inbound/email", s.base),
        };
        s.client
            .post(url)
            .bearer_auth(s.key(leadflow_core::Role::Ingest))
            .header("Content-Type", "message/rfc822")
            .body(body)
            .send()
    };

    // An out-of-office first: recorded apart, ends nothing.
    let answer: serde_json::Value = post(reply(&ana_id, true), None).await.unwrap().json().await.unwrap();
    assert_eq!(
        (answer["kind"].as_str(), answer["enrollments_ended"].as_u64()),
        (Some("automatic_reply"), Some(0)),
        "{answer}"
    );
    let answer: serde_json::Value = post(reply(&ana_id, false), None).await.unwrap().json().await.unwrap();
    assert_eq!((answer["kind"].as_str(), answer["enrollments_ended"].as_u64()), (Some("reply"), Some(1)), "{answer}");
    let (_, body) = s.admin(Method::GET, "/v1/leads/ana@acme.example/enrollments", None).await;
    assert_eq!(body["enrollments"][0]["exit_reason"], "replied");
    let (_, view) = s.admin(Method::GET, "/v1/leads/ana@acme.example", None).await;
    let mut events: Vec<&str> =
        view["timeline"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    events.sort();
    assert_eq!(events, ["email_auto_reply", "email_reply"]);
    // The MTA delivering it again changes nothing.
    let again: serde_json::Value = post(reply(&ana_id, false), None).await.unwrap().json().await.unwrap();
    assert_eq!(again["enrollments_ended"].as_u64(), Some(0));

    // Bo's address bounced for good: on the list, and nothing more goes to it.
    let answer: serde_json::Value = post(hard_bounce(&bo_id), Some(bo_envelope)).await.unwrap().json().await.unwrap();
    assert_eq!(
        (answer["kind"].as_str(), answer["enrollments_ended"].as_u64()),
        (Some("hard_bounce"), Some(1)),
        "{answer}"
    );
    let (_, listed) = s.admin(Method::GET, "/v1/do-not-contact?address=bo@acme.example", None).await;
    assert_eq!(
        (listed["entries"][0]["reason"].as_str(), listed["entries"][0]["created_by"].as_str()),
        (Some("bounced"), answer["send_id"].as_i64().map(|id| format!("send {id}")).as_deref())
    );
    // A newsletter, or a reply to nothing of ours, is ignored.
    let other = "From: x@y.example\r\nSubject: News\r\n\r\nHello\r\n".to_string();
    let answer: serde_json::Value = post(other, None).await.unwrap().json().await.unwrap();
    assert_eq!(answer["kind"], "ignored");
    let (_, metrics) = s.admin(Method::GET, "/v1/sequences/hello/metrics", None).await;
    let total = &metrics["sequences"][0]["total"];
    assert_eq!(
        (total["sent"].as_u64(), total["replied"].as_u64(), total["bounced"].as_u64(), total["delivered"].as_u64()),
        (Some(2), Some(1), Some(1), Some(1)),
        "{metrics}"
    );
    assert_eq!(total["reply_rate"].as_f64(), Some(1.0), "one reply of one delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_mail_has_no_valid_unsubscribe_links() {
    let s = Server::start().await;
    let response = s.client.post(format!("{}/u/1.abc", s.base)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
