//! The OpenAPI 3.1 document served at `/v1/openapi.json`.

use serde_json::{Value, json};

fn op(summary: &str, auth: bool, totp: bool, body: Option<Value>, ok: &str) -> Value {
    let mut o = json!({
        "summary": summary,
        "responses": {
            ok: { "description": "success" },
            "400": { "$ref": "#/components/responses/Error" },
            "408": { "$ref": "#/components/responses/Error" },
            "429": { "$ref": "#/components/responses/Error" },
        },
    });
    if auth {
        o["security"] = json!([{ "clientCertificate": [] }]);
        o["responses"]["401"] = json!({ "$ref": "#/components/responses/Error" });
        o["responses"]["403"] = json!({ "$ref": "#/components/responses/Error" });
        // The request's audit entry could not be committed (or the key
        // store's passphrase changed under the server).
        o["responses"]["503"] = json!({ "$ref": "#/components/responses/Error" });
    }
    if totp {
        o["parameters"] = json!([{
            "name": "X-Pkilab-Totp", "in": "header", "required": true,
            "description": "a TOTP code of the caller (pkilab kms mfa enroll); each code works once",
            "schema": { "type": "string", "pattern": "^[0-9]{6}$" }
        }]);
    }
    if let Some(schema) = body {
        o["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    }
    o
}

fn object(fields: &[(&str, &str)], required: &[&str]) -> Value {
    let properties: serde_json::Map<String, Value> = fields
        .iter()
        .map(|(name, description)| {
            (
                (*name).to_owned(),
                json!({ "type": "string", "description": description }),
            )
        })
        .collect();
    json!({ "type": "object", "properties": properties, "required": required, "additionalProperties": false })
}

fn key_op(summary: &str, fields: &[(&str, &str)], required: &[&str], totp: bool) -> Value {
    json!({ "post": op(summary, true, totp, Some(object(fields, required)), "200") })
}

/// Paths every route of the router appears under (tests compare the two).
pub const PATHS: &[&str] = &[
    "/v1/health",
    "/v1/openapi.json",
    "/v1/ca/chain",
    "/v1/ca/crl",
    "/v1/certs",
    "/v1/certs/{serial}/revoke",
    "/v1/keys",
    "/v1/keys/{name}",
    "/v1/keys/{name}/encrypt",
    "/v1/keys/{name}/decrypt",
    "/v1/keys/{name}/rewrap",
    "/v1/keys/{name}/sign",
    "/v1/keys/{name}/verify",
    "/v1/keys/{name}/datakey",
    "/v1/keys/{name}/rotate",
    "/v1/keys/{name}/revoke",
    "/v1/keys/{name}/destroy",
];

/// The document.
pub fn document() -> Value {
    let aad = ("aad", "associated data, bound to the ciphertext");
    json!({
        "openapi": "3.1.0",
        "info": { "title": "pkilab", "version": env!("CARGO_PKG_VERSION"),
                  "description": "CA and KMS over HTTPS. Clients authenticate with certificates from this CA (mTLS), checked against its current CRL." },
        "components": {
            "securitySchemes": { "clientCertificate": { "type": "mutualTLS" } },
            "responses": { "Error": { "description": "an error",
                "content": { "application/json": { "schema": object(&[("error", "stable id"), ("detail", "what exactly")], &["error", "detail"]) } } } }
        },
        "paths": {
            "/v1/health": { "get": op("liveness", false, false, None, "200") },
            "/v1/openapi.json": { "get": op("this document", false, false, None, "200") },
            "/v1/ca/chain": { "get": op("the CA chain (root, issuing) as PEM", false, false, None, "200") },
            "/v1/ca/crl": { "get": op("the current CRLs as PEM", false, false, None, "200") },
            "/v1/certs": { "post": op("a certificate for a PKCS#10 request (for the caller's own name and at most 90 days unless admin, within a quota of live certificates, refused to a revoked identity)", true, true,
                Some(object(&[("csr", "PEM PKCS#10"), ("name", "subject CN (default: the caller)"), ("days", "lifetime, 1-825"), ("server", "serverAuth instead of clientAuth")], &["csr"])), "201") },
            "/v1/certs/{serial}/revoke": { "post": op("revoke a certificate (own, or any as admin) and publish the CRL", true, true,
                Some(object(&[("reason", "RFC 5280 reason, e.g. key-compromise")], &[])), "200") },
            "/v1/keys": {
                "post": op("create a key", true, false, Some(object(&[("name", "key name"), ("type", "aes-256-gcm, ed25519, x25519, rsa-2048, rsa-3072, rsa-4096"), ("owner", "admin only"), ("expires_in", "e.g. 365d"), ("rotate_every", "e.g. 90d")], &["name", "type"])), "201"),
                "get": op("keys the caller owns or holds grants on (all, for admins)", true, false, None, "200")
            },
            "/v1/keys/{name}": { "get": op("one key's metadata", true, false, None, "200") },
            "/v1/keys/{name}/encrypt": key_op("encrypt with the newest version", &[("plaintext", "base64"), aad], &["plaintext"], false),
            "/v1/keys/{name}/decrypt": key_op("decrypt (the ciphertext names its version)", &[("ciphertext", "pkilab:v1:..."), aad], &["ciphertext"], false),
            "/v1/keys/{name}/rewrap": key_op("move a ciphertext to the newest version", &[("ciphertext", "pkilab:v1:..."), aad], &["ciphertext"], false),
            "/v1/keys/{name}/sign": key_op("sign", &[("message", "base64")], &["message"], false),
            "/v1/keys/{name}/verify": key_op("verify", &[("message", "base64"), ("signature", "pkilab:v1:...")], &["message", "signature"], false),
            "/v1/keys/{name}/datakey": key_op("a fresh AES-256 data key, plain and wrapped", &[aad], &[], false),
            "/v1/keys/{name}/rotate": key_op("add a version", &[], &[], false),
            "/v1/keys/{name}/revoke": key_op("deactivate (or, for key-compromise, mark compromised)", &[("reason", "superseded, cessation-of-operation or key-compromise")], &[], true),
            "/v1/keys/{name}/destroy": key_op("schedule destruction", &[("after", "delay, e.g. 7d (default now)")], &[], true)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc = document();
        let paths = doc["paths"].as_object().expect("paths");
        assert_eq!(paths.len(), PATHS.len());
        for path in PATHS {
            assert!(paths.contains_key(*path), "{path} is not documented");
        }
    }
}
