/* leadflow website tracking. Load with:
 *   <script async src="https://LEADFLOW_HOST/t/leadflow.js"></script>
 * It records a page view per page (with the address's utm_source, utm_medium and utm_campaign,
 * which reports attribute leads by), and a form submission for every form with an email field;
 * when no lead has that email yet, the visitor's earlier page views join the new lead.
 * window.leadflow.identify(email) sends such a form submission from your own code.
 * A form proves nothing about an email a lead already has (anyone can type it): to join a
 * visitor to a known lead (a signed-in customer), get a token from your server with
 * POST /v1/tracking/identity-tokens (bound to window.leadflow.visitor, the leadflow_visitor
 * cookie) and call window.leadflow.prove(token). */
(function () {
  "use strict";
  var script = document.currentScript;
  var endpoint = new URL("/t/collect", script ? script.src : location.href).href;
  var KEY = "leadflow_visitor";

  function newId() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function visitorId() {
    var match = document.cookie.match(/(?:^|; )leadflow_visitor=([A-Za-z0-9_-]{8,64})/);
    var id = match ? match[1] : null;
    try { id = id || localStorage.getItem(KEY); } catch (e) { /* storage may be blocked */ }
    id = id || newId();
    document.cookie = KEY + "=" + id + "; path=/; max-age=" + 60 * 60 * 24 * 395 + "; SameSite=Lax";
    try { localStorage.setItem(KEY, id); } catch (e) { /* storage may be blocked */ }
    return id;
  }

  var visitor = visitorId();

  // The campaign that brought the visitor, from the address it landed on.
  var CAMPAIGN = ["utm_source", "utm_medium", "utm_campaign"];

  function send(hit) {
    hit.visitor = visitor;
    hit.url = location.pathname;
    var query = new URLSearchParams(location.search);
    CAMPAIGN.forEach(function (name) {
      var value = (query.get(name) || "").replace(/[\u0000-\u001f\u007f-\u009f]/g, "").trim().slice(0, 100);
      if (value) hit[name] = value;
    });
    var body = JSON.stringify(hit);
    if (navigator.sendBeacon && navigator.sendBeacon(endpoint, body)) return;
    fetch(endpoint, { method: "POST", body: body, keepalive: true, mode: "cors" }).catch(function () {});
  }

  function prove(token) {
    if (typeof token === "string" && token) send({ type: "page_view", identity: token });
  }

  function identify(email) {
    if (typeof email === "string" && email.indexOf("@") > 0) send({ type: "form_submitted", email: email.trim() });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var field = form && form.querySelector && form.querySelector("input[type=email], input[name=email]");
    if (field && field.value) identify(field.value);
  }, true);

  window.leadflow = {
    visitor: visitor,
    identify: identify,
    prove: prove,
    pageView: function () { send({ type: "page_view" }); }
  };
  send({ type: "page_view" });
})();
