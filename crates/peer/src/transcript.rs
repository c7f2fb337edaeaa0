//! The handshake transcript: one running SHA-256 over what the two sides
//! say, in order, each byte hashed once per side, as TLS 1.3 keeps its
//! transcript hash:
//!
//! ```text
//! M1 ‖ key_share_R ‖ nonce_R [‖ ct_ML-KEM]              the hellos, as sent in the clear
//! ‖ context_R ‖ chain_R ‖ staple_R ‖ proof_R ‖ name_R   → th_R, which the responder signs
//! ‖ signature_R ‖ finished_R
//! ‖ context_I ‖ chain_I ‖ staple_I ‖ proof_I ‖ name_I   → th_I, which the initiator signs
//! ‖ signature_I ‖ finished_I                            → the hash the traffic keys are bound to
//! ```
//!
//! The fields of an authentication block are framed as postcard frames
//! them (a byte string as a varint length and its bytes, an option as 0 or
//! 1 and then its value, a list as a varint count and its items), so no
//! field can be shifted into another. The blocks travel sealed under the
//! handshake keys; what is hashed is what they say, as TLS hashes its
//! handshake messages rather than the records that carry them.

use aws_lc_rs::digest;

use crate::auth::Role;
use crate::wire::Authentication;

/// The running transcript.
#[derive(Clone)]
pub(crate) struct Transcript(digest::Context);

impl Transcript {
    /// The transcript of the hellos: M1, then what M2 says in the clear.
    pub(crate) fn of(hellos: &[&[u8]]) -> Self {
        let mut context = digest::Context::new(&digest::SHA256);
        for part in hellos {
            context.update(part);
        }
        Transcript(context)
    }

    /// Adds what `role`'s block says about its sender (everything but the
    /// signature and the Finished MAC) and returns the hash so far: the
    /// `th` the sender signs.
    pub(crate) fn authentication(&mut self, role: Role, auth: &Authentication) -> [u8; 32] {
        self.raw(role.context());
        self.varint(auth.chain.len());
        for certificate in &auth.chain {
            self.bytes(certificate);
        }
        self.option(auth.staple.as_deref());
        self.option(auth.inclusion_proof.as_deref());
        self.bytes(auth.believed_peer.as_bytes());
        finish(self.0.clone())
    }

    /// Adds the block's signature and Finished MAC.
    pub(crate) fn proofs(&mut self, auth: &Authentication) {
        self.bytes(&auth.signature);
        self.bytes(&auth.finished);
    }

    /// The hash of the whole transcript.
    pub(crate) fn finish(self) -> [u8; 32] {
        finish(self.0)
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn varint(&mut self, n: usize) {
        let (bytes, len) = crate::wire::varint(n as u64);
        self.0.update(&bytes[..len]);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len());
        self.0.update(bytes);
    }

    fn option(&mut self, value: Option<&[u8]>) {
        match value {
            None => self.0.update(&[0]),
            Some(bytes) => {
                self.0.update(&[1]);
                self.bytes(bytes);
            }
        }
    }
}

fn finish(context: digest::Context) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// The whole handshake's transcript hash from the hellos and both opened
/// blocks: what each side computes as it goes, and what an observer who
/// recovered the handshake keys recomputes from a recording.
pub(crate) fn of_handshake(
    hellos: &[&[u8]],
    responder: &Authentication,
    initiator: &Authentication,
) -> [u8; 32] {
    let mut transcript = Transcript::of(hellos);
    transcript.authentication(Role::Responder, responder);
    transcript.proofs(responder);
    transcript.authentication(Role::Initiator, initiator);
    transcript.proofs(initiator);
    transcript.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_schedule::sha256;

    fn postcard<T: serde::Serialize>(value: &T) -> Vec<u8> {
        postcard::to_allocvec(value).expect("encodes")
    }

    fn block(size: usize) -> Authentication {
        Authentication {
            chain: vec![vec![3; size]; size % 5 + 1],
            believed_peer: "bob".repeat(size % 7),
            signature: vec![6; 64],
            finished: vec![7; 32],
            staple: size.is_multiple_of(2).then(|| vec![4; size]),
            inclusion_proof: size.is_multiple_of(3).then(|| vec![5; size / 2]),
        }
    }

    /// Each field is framed exactly as postcard encodes it, after the
    /// transcript so far and the role's context.
    #[test]
    fn the_fields_are_framed_as_postcard_frames_them() {
        let encode = |auth: &Authentication| {
            [
                postcard(&auth.chain),
                postcard(&auth.staple),
                postcard(&auth.inclusion_proof),
                postcard(&auth.believed_peer),
            ]
            .concat()
        };
        let hellos: [&[u8]; 2] = [b"m1", b"m2 in the clear"];
        for size in [0usize, 1, 127, 128, 300, 16_384, 20_000] {
            let auth = block(size);
            let fields = encode(&auth);
            let th = sha256(&[hellos[0], hellos[1], Role::Initiator.context(), &fields]);
            let mut transcript = Transcript::of(&hellos);
            assert_eq!(
                transcript.authentication(Role::Initiator, &auth),
                th,
                "{size}"
            );
            transcript.proofs(&auth);
            let proofs = [postcard(&auth.signature), postcard(&auth.finished)].concat();
            let whole = sha256(&[
                hellos[0],
                hellos[1],
                Role::Initiator.context(),
                &fields,
                &proofs,
            ]);
            assert_eq!(transcript.finish(), whole, "{size}");
        }
    }

    /// The running transcript each side keeps ends where the recomputation
    /// from both blocks does, and any changed field changes it.
    #[test]
    fn the_running_transcript_is_the_recomputed_one() {
        let (r, i) = (block(300), block(128));
        let hellos: [&[u8]; 1] = [b"hellos"];
        let mut running = Transcript::of(&hellos);
        let th_r = running.authentication(Role::Responder, &r);
        running.proofs(&r);
        let th_i = running.authentication(Role::Initiator, &i);
        running.proofs(&i);
        let whole = running.finish();
        assert_eq!(whole, of_handshake(&hellos, &r, &i));
        assert_ne!(th_r, th_i);
        let mut changed = i.clone();
        changed.finished[0] ^= 1;
        assert_ne!(whole, of_handshake(&hellos, &r, &changed));
        let mut moved = r.clone();
        moved.believed_peer.push('x');
        assert_ne!(whole, of_handshake(&hellos, &moved, &i));
    }
}
