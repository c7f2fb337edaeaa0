//! Key states after NIST SP 800-57 Part 1 §7, the legal transitions between
//! them, and which operations each state allows.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A key's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Generated, not yet usable.
    PreActive,
    /// Usable for every operation its type has.
    Active,
    /// Temporarily unusable (SP 800-57 "suspended").
    Suspended,
    /// Only processes what it protected before: decrypt, verify.
    Deactivated,
    /// Known or suspected to be disclosed: nothing without an override.
    Compromised,
    /// The material is gone.
    Destroyed,
}

impl State {
    /// The stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            State::PreActive => "pre-active",
            State::Active => "active",
            State::Suspended => "suspended",
            State::Deactivated => "deactivated",
            State::Compromised => "compromised",
            State::Destroyed => "destroyed",
        }
    }

    /// Whether `self → to` is a legal transition.
    pub fn can_become(self, to: State) -> bool {
        use State::*;
        matches!(
            (self, to),
            (PreActive, Active | Compromised | Destroyed)
                | (Active, Suspended | Deactivated | Compromised)
                | (Suspended, Active | Deactivated | Compromised)
                | (Deactivated, Compromised | Destroyed)
                | (Compromised, Destroyed)
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for State {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            State::PreActive,
            State::Active,
            State::Suspended,
            State::Deactivated,
            State::Compromised,
            State::Destroyed,
        ]
        .into_iter()
        .find(|state| state.name() == s)
        .ok_or_else(|| format!("unknown key state '{s}'"))
    }
}

/// What an operation does to data, in SP 800-57 terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// Applies protection: encrypt, sign, wrap, agree.
    Protect,
    /// Processes protected data: decrypt, verify, unwrap.
    Process,
    /// Reads public information: the public key.
    Public,
}

/// Whether a key in `state` may be used for `use_`; `override_compromise`
/// lets processing (never protection) use a compromised key.
pub fn permits(state: State, use_: Use, override_compromise: bool) -> Result<(), String> {
    match (state, use_) {
        (State::Active, _) => Ok(()),
        (State::Deactivated, Use::Process | Use::Public) => Ok(()),
        (State::Deactivated, Use::Protect) => Err(
            "the key is deactivated: it only decrypts and verifies what it protected before".into(),
        ),
        (State::Compromised, Use::Process | Use::Public) if override_compromise => Ok(()),
        (State::Compromised, Use::Process | Use::Public) => Err(
            "the key is compromised: processing needs an explicit override (--allow-compromised)"
                .into(),
        ),
        (State::Compromised, Use::Protect) => {
            Err("the key is compromised: it never protects new data".into())
        }
        (State::PreActive, _) => Err("the key is pre-active: activate it first".into()),
        (State::Suspended, _) => Err("the key is suspended: resume it first".into()),
        (State::Destroyed, _) => Err("the key is destroyed: its material is gone".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [State; 6] = [
        State::PreActive,
        State::Active,
        State::Suspended,
        State::Deactivated,
        State::Compromised,
        State::Destroyed,
    ];

    #[test]
    fn exactly_the_sp_800_57_transitions_are_legal() {
        let legal: Vec<(State, State)> = ALL
            .iter()
            .flat_map(|a| ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(legal.len(), 12, "{legal:?}");
        assert!(!State::Destroyed.can_become(State::Active));
        assert!(!State::Compromised.can_become(State::Active));
        assert!(!State::Deactivated.can_become(State::Active));
        assert!(
            !State::Active.can_become(State::Destroyed),
            "deactivate first"
        );
        for s in ALL {
            assert!(!s.can_become(s), "{s} → {s}");
            assert_eq!(s.name().parse::<State>(), Ok(s));
        }
    }

    #[test]
    fn each_state_allows_what_it_should() {
        use Use::*;
        assert!(permits(State::Active, Protect, false).is_ok());
        assert!(permits(State::Deactivated, Process, false).is_ok());
        assert!(permits(State::Deactivated, Protect, false).is_err());
        assert!(permits(State::Compromised, Process, false).is_err());
        assert!(permits(State::Compromised, Process, true).is_ok());
        assert!(permits(State::Compromised, Protect, true).is_err());
        for s in [State::PreActive, State::Suspended, State::Destroyed] {
            for u in [Protect, Process, Public] {
                assert!(permits(s, u, true).is_err(), "{s} allowed {u:?}");
            }
        }
    }
}
