//! Each side's key schedule, session by session: the two public hashes in
//! full and each secret key as a fingerprint, so the reader sees which
//! sides hold the same keys, and that a MITM's two sessions share none.

use std::fmt::Write;

use super::escape;
use super::frames::hex;
use crate::report::{RunReport, SideKeys};

fn short(bytes: &[u8]) -> String {
    hex(bytes).replace(' ', "")
}

fn row(out: &mut String, side: &SideKeys) {
    let k = &side.keys;
    let _ = write!(
        out,
        "<tr{}><td>{} (with {})</td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td></tr>",
        if side.adversary { " class=\"bad\"" } else { "" },
        escape(&side.node),
        escape(&side.with),
        short(&k.hello_hash[..8]),
        short(&k.transcript_hash[..8]),
        short(&k.handshake_i2r),
        short(&k.handshake_r2i),
        short(&k.traffic_i2r),
        short(&k.traffic_r2i),
    );
}

/// What a side opened from the other's sealed block: the certificate
/// chain (described), the name the sender believed it talked to, the
/// signature and the Finished MAC.
pub(super) fn opened(out: &mut String, side: &SideKeys) {
    let auth = &side.keys.received;
    let _ = write!(
        out,
        "<details class=\"opened\"><summary>what {} opened from {}&#39;s sealed block</summary><p>Sealed under the handshake key on the wire: a passive eavesdropper sees none of it.</p><table class=\"fields\">",
        escape(&side.node),
        escape(&side.with)
    );
    let believed = if auth.believed_peer.is_empty() {
        "(nobody named: the sender did not know whom to expect)".to_owned()
    } else {
        auth.believed_peer.clone()
    };
    let _ = write!(
        out,
        "<tr class=\"field\"><td>believed peer</td><td>{}</td></tr>",
        escape(&believed)
    );
    if auth.chain.is_empty() {
        out.push_str(
            "<tr class=\"field\"><td>certificate chain</td><td>none: unauthenticated</td></tr>",
        );
    }
    for (i, der) in auth.chain.iter().enumerate() {
        let text = pkilab_ca::inspect::describe(der)
            .unwrap_or_else(|e| format!("{} bytes that do not parse: {e}", der.len()));
        let _ = write!(
            out,
            "<tr class=\"field\"><td>certificate {}</td><td><pre>{}</pre></td></tr>",
            i + 1,
            escape(&text)
        );
    }
    if let Some(staple) = &auth.staple {
        let _ = write!(
            out,
            "<tr class=\"field\"><td>stapled OCSP response</td><td>{} bytes of DER, status {}, under the transcript signature<br><code>{}</code></td></tr>",
            staple.len(),
            pkilab_ca::ocsp_request::response_status(staple).unwrap_or("unreadable"),
            escape(&hex(staple))
        );
    }
    if let Some(proof) = &auth.inclusion_proof {
        let _ = write!(
            out,
            "<tr class=\"field\"><td>inclusion proof</td><td>the leaf's place in the CA's transparency log, under the transcript signature<pre>{}</pre></td></tr>",
            escape(&String::from_utf8_lossy(proof))
        );
    }
    for (label, bytes) in [
        ("signature (Ed25519)", &auth.signature),
        ("Finished MAC", &auth.finished),
    ] {
        if !bytes.is_empty() {
            let _ = write!(
                out,
                "<tr class=\"field\"><td>{label}</td><td><code>{}</code></td></tr>",
                escape(&hex(bytes))
            );
        }
    }
    out.push_str("</table></details>");
}

/// The key-schedule section; `veil` marks a step's rows for the quiz.
pub fn section(out: &mut String, report: &RunReport, veil: &dyn Fn(usize) -> String) {
    out.push_str("<section><h2>Key schedule, per side</h2><p class=\"secrets\">For every completed handshake, what each side computed: <code>hello_hash</code> (the HKDF salt over both hellos) and the transcript hash are public, shown by their first 8 bytes; the handshake and traffic keys are <b>secret</b> and shown only as fingerprints (first 8 bytes of SHA-256 of the key). Two sides share a session exactly when their rows agree.</p>");
    if report.key_schedules.is_empty() {
        out.push_str("<p>No handshake completed in this lesson.</p></section>");
        return;
    }
    let mut steps: Vec<usize> = report.key_schedules.iter().map(|s| s.step).collect();
    steps.dedup();
    for step in steps {
        let _ = write!(
            out,
            "<div class=\"keys{}\" id=\"k{step}\"><h3>step {step}</h3><table class=\"keys\"><tr><th>side</th><th>hello_hash</th><th>transcript hash</th><th>hs key i→r (fp)</th><th>hs key r→i (fp)</th><th>traffic i→r (fp)</th><th>traffic r→i (fp)</th></tr>",
            veil(step)
        );
        for side in report.key_schedules.iter().filter(|s| s.step == step) {
            row(out, side);
        }
        out.push_str("</table>");
        for side in report.key_schedules.iter().filter(|s| s.step == step) {
            opened(out, side);
        }
        out.push_str("</div>");
    }
    out.push_str("</section>");
}

/// The traffic-key fingerprints of an adversary's sessions with `peer`.
pub fn adversary_keys(report: &RunReport, adversary: &str, peer: &str) -> Vec<String> {
    report
        .key_schedules
        .iter()
        .filter(|s| s.adversary && s.node == adversary && s.with == peer)
        .map(|s| {
            format!(
                "step {}: traffic keys {} / {}",
                s.step,
                short(&s.keys.traffic_i2r),
                short(&s.keys.traffic_r2i)
            )
        })
        .collect()
}
