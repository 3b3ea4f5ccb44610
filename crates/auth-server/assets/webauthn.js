// WebAuthn for the identity provider's pages (served as /assets/webauthn.js, the only script any
// page loads). A form marked data-webauthn="create" or "get" stays hidden unless this script runs
// in a browser with WebAuthn; everything else on the page works without it.
//
// On submit: POST the form's CSRF token to data-start, which answers {ceremony, options} (options
// with binary fields in base64url), or {location} when the page must go elsewhere first (a recent
// sign-in); run navigator.credentials.create/get; put the ceremony id and the credential (binary
// fields in base64url) in the form's hidden fields; submit the form.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }

  function toBytes(b64url) {
    var s = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var s = "";
    for (var i = 0; i < bytes.length; i++) {
      s += String.fromCharCode(bytes[i]);
    }
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeIds(list) {
    (list || []).forEach(function (c) {
      c.id = toBytes(c.id);
    });
  }

  function createOptions(o) {
    var pk = o.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    decodeIds(pk.excludeCredentials);
    return { publicKey: pk };
  }

  function getOptions(o) {
    var pk = o.publicKey;
    pk.challenge = toBytes(pk.challenge);
    decodeIds(pk.allowCredentials);
    return { publicKey: pk };
  }

  function extensions(cred) {
    return cred.getClientExtensionResults ? cred.getClientExtensionResults() : {};
  }

  function created(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      extensions: extensions(cred),
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : undefined
      }
    };
  }

  function asserted(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      extensions: extensions(cred),
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: toB64url(r.userHandle)
      }
    };
  }

  function field(form, name) {
    return form.querySelector('input[name="' + name + '"]');
  }

  function fail(form, message) {
    var box = form.querySelector("[data-webauthn-error]");
    if (box) {
      box.textContent = message || box.getAttribute("data-message");
      box.hidden = false;
    }
    form.removeAttribute("aria-busy");
  }

  function start(form) {
    // data-start-all: the start needs the whole form (the second-factor page's request and
    // ticket), not only the CSRF token.
    var body = form.hasAttribute("data-start-all")
      ? new URLSearchParams(new FormData(form))
      : new URLSearchParams();
    body.delete("ceremony");
    body.delete("credential");
    body.set("csrf", field(form, "csrf").value);
    return fetch(form.getAttribute("data-start"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (res) {
      return res.json();
    });
  }

  function run(form) {
    var mode = form.getAttribute("data-webauthn");
    form.setAttribute("aria-busy", "true");
    start(form)
      .then(function (answer) {
        if (answer.location) {
          window.location.assign(answer.location);
          return null;
        }
        if (!answer.ceremony || !answer.options) {
          throw new Error(answer.error_description || "");
        }
        var options = JSON.parse(answer.options);
        field(form, "ceremony").value = answer.ceremony;
        return mode === "create"
          ? navigator.credentials.create(createOptions(options)).then(created)
          : navigator.credentials.get(getOptions(options)).then(asserted);
      })
      .then(function (credential) {
        if (credential) {
          field(form, "credential").value = JSON.stringify(credential);
          form.submit();
        }
      })
      .catch(function (e) {
        fail(form, e && e.message && e.name === "Error" ? e.message : null);
      });
  }

  document.querySelectorAll("form[data-webauthn]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.getAttribute("aria-busy") !== "true") {
        run(form);
      }
    });
  });
})();
