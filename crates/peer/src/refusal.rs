//! Why a handshake or a frame is refused. The id is coarse enough to send
//! to the peer and stable enough for scenario files; the detail is for our
//! own trace only.

use std::fmt;

/// A refusal reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// The peer's certificate chain was refused by the validator.
    Certificate(pkilab_verify::Reason),
    /// A handshake signature does not verify.
    BadSignature,
    /// An authenticated mode, but no certificate.
    NoCertificate,
    /// The requested mode is weaker than the one required.
    Downgrade,
    /// The requested mode differs from the one required (and is not weaker).
    ModeMismatch,
    /// No cipher suite in common.
    NoCommonSuite,
    /// A frame counter was already used.
    Replay,
    /// A frame counter skipped ahead: a frame was dropped or reordered.
    OutOfOrder,
    /// Authenticated decryption failed: tampering, or different keys.
    DecryptFailed,
    /// The Finished MAC does not verify.
    BadFinished,
    /// A handshake block does not open: the two sides derived different
    /// keys because what each saw of the handshake differs (a rewritten
    /// hello, a swapped key share).
    TranscriptMismatch,
    /// The frame does not decode.
    Malformed,
    /// The frame exceeds the size limit.
    FrameTooLarge,
    /// The Diffie-Hellman result is all zeros (a small-order public key).
    WeakKey,
    /// A message that does not belong at this point of the protocol.
    UnexpectedMessage,
    /// A peer that requires a stapled OCSP response got none.
    StapleMissing,
    /// The stapled OCSP response is past its nextUpdate, or not yet valid.
    StapleStale,
    /// The stapled OCSP response does not parse, does not name the
    /// certificate, or is not signed by its issuer.
    StapleInvalid,
}

impl RefusalReason {
    /// The stable kebab-case id.
    pub fn id(&self) -> &'static str {
        match self {
            RefusalReason::Certificate(reason) => reason.id(),
            RefusalReason::BadSignature => "bad-signature",
            RefusalReason::NoCertificate => "no-certificate",
            RefusalReason::Downgrade => "downgrade",
            RefusalReason::ModeMismatch => "mode-mismatch",
            RefusalReason::NoCommonSuite => "no-common-suite",
            RefusalReason::Replay => "replay",
            RefusalReason::OutOfOrder => "out-of-order",
            RefusalReason::DecryptFailed => "decrypt-failed",
            RefusalReason::BadFinished => "bad-finished",
            RefusalReason::TranscriptMismatch => "transcript-mismatch",
            RefusalReason::Malformed => "malformed",
            RefusalReason::FrameTooLarge => "frame-too-large",
            RefusalReason::WeakKey => "weak-key",
            RefusalReason::UnexpectedMessage => "unexpected-message",
            RefusalReason::StapleMissing => "staple-missing",
            RefusalReason::StapleStale => "staple-stale",
            RefusalReason::StapleInvalid => "staple-invalid",
        }
    }
}

/// A refusal: the reason, and what exactly happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Why.
    pub reason: RefusalReason,
    /// What exactly, for our own trace.
    pub detail: String,
}

impl Refusal {
    /// A refusal with a detail.
    pub fn new(reason: RefusalReason, detail: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            detail: detail.into(),
        }
    }

    /// The reason's id.
    pub fn id(&self) -> &'static str {
        self.reason.id()
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.id(), self.detail)
    }
}

impl std::error::Error for Refusal {}
