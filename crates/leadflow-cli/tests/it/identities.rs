//! `leadflow identities ...`, on both backends: a lead reached through its second email, its id
//! in another system and its phone, by the commands that name leads.

use crate::common::Cli;

#[test]
fn a_lead_is_named_by_any_identity_it_is_given() {
    identities_on(Cli::new());
}

#[test]
fn a_lead_is_named_by_any_identity_it_is_given_on_postgres() {
    identities_on(Cli::on_postgres());
}

fn identities_on(cli: Cli) {
    cli.ok(&["init"]);
    cli.ok(&["leads", "upsert", "--email", "ana@acme.example", "--set", "company=Acme"]);
    cli.ok(&["leads", "upsert", "--email", "ben@acme.example"]);
    let added = cli.ok(&[
        "identities",
        "add",
        "ana@acme.example",
        "email:Ana.Home@Example.net",
        "salesforce:00Q5g000004XyZ1",
        "phone:020 7946 0958",
        "--region",
        "GB",
    ]);
    assert!(added.contains("phone:+442079460958: added"), "{added}");
    assert!(cli.ok(&["identities", "add", "1", "salesforce:00Q5g000004XyZ1"]).contains("the lead had it"));

    let listed = cli.ok(&["identities", "list", "phone:+442079460958"]);
    for seen in
        ["ana@acme.example", "OWN", "yes", "ana.home@example.net", "salesforce", "00Q5g000004XyZ1", "+442079460958"]
    {
        assert!(listed.contains(seen), "{seen} in {listed}");
    }
    let json: serde_json::Value = serde_json::from_str(&cli.ok(&["identities", "list", "1", "--json"])).unwrap();
    assert_eq!(json["identities"].as_array().unwrap().len(), 4, "{json}");

    // An event and a view by the id in Salesforce reach Ana; an unknown phone names nobody.
    cli.ok(&["track", "--lead", "salesforce:00Q5g000004XyZ1", "--type", "demo_requested"]);
    let shown = cli.ok(&["leads", "show", "email:ana.home@example.net"]);
    assert!(shown.contains("demo_requested") && shown.contains("Acme"), "{shown}");
    let out = cli.run(&["track", "--lead", "phone:+14155552671", "--type", "page_view"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("no lead with phone +14155552671"), "{said}");

    // Refusals say why: taken by another lead, the lead's own email, a number of no country.
    let out = cli.run(&["identities", "add", "ben@acme.example", "phone:+44 20 7946 0958"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("belongs to lead 1"), "{said}");
    let out = cli.run(&["identities", "remove", "1", "email:ana@acme.example"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("the lead's own email"), "{said}");
    let out = cli.run(&["identities", "add", "1", "phone:020 7946 0958"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("country code"), "{said}");

    assert!(cli.ok(&["identities", "remove", "1", "phone:+442079460958"]).contains("removed"));
    let out = cli.run(&["identities", "remove", "1", "phone:+442079460958"]);
    assert!(!out.status.success(), "removing what the lead lacks fails");
    assert!(cli.ok(&["identities", "add", "ben@acme.example", "phone:+442079460958"]).contains("added"));
    assert!(cli.ok(&["verify"]).contains("the database is consistent"));
}
