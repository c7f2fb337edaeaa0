//! The tree served as tiles (c2sp.org/tlog-tiles): immutable files of up
//! to 256 hashes, and bundles of up to 256 entries.

use crate::tree::Tree;

/// Hashes (or entries) per full tile.
pub const WIDTH: u64 = 256;
/// Tree levels per tile level.
pub const HEIGHT: usize = 8;

/// One tile or entry bundle, as named in a URL path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileName {
    /// `tile/<L>/<N>[.p/<W>]`: level-`8·L` hashes `N·256 …`.
    Hashes {
        /// Tile level.
        level: u8,
        /// Tile index.
        index: u64,
        /// Hashes in it (256 for a full tile).
        width: u64,
    },
    /// `tile/entries/<N>[.p/<W>]`: entries `N·256 …`.
    Entries {
        /// Bundle index.
        index: u64,
        /// Entries in it.
        width: u64,
    },
}

/// `N` as tlog-tiles writes it: groups of three digits, all but the last
/// prefixed by `x` (`1234067` → `x001/x234/067`).
fn encode_index(n: u64) -> String {
    let digits = format!("{n:03}");
    let padded = format!("{}{digits}", "0".repeat((3 - digits.len() % 3) % 3));
    let groups: Vec<&str> = padded
        .as_bytes()
        .chunks(3)
        .map(|c| std::str::from_utf8(c).unwrap_or("000"))
        .collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                (*g).to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn decode_index(parts: &[&str]) -> Option<u64> {
    let (last, prefix) = parts.split_last()?;
    let mut n: u64 = 0;
    for group in prefix {
        let digits = group.strip_prefix('x')?;
        n = n.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
    }
    let value = n.checked_mul(1000)?.checked_add(three_digits(last)?)?;
    // One spelling per index: no leading x000 groups.
    (encode_index(value) == parts.join("/")).then_some(value)
}

fn three_digits(text: &str) -> Option<u64> {
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

impl TileName {
    /// The path below the log's prefix.
    pub fn path(&self) -> String {
        let (head, index, width) = match *self {
            TileName::Hashes {
                level,
                index,
                width,
            } => (format!("tile/{level}"), index, width),
            TileName::Entries { index, width } => ("tile/entries".to_owned(), index, width),
        };
        let partial = if width < WIDTH {
            format!(".p/{width}")
        } else {
            String::new()
        };
        format!("{head}/{}{partial}", encode_index(index))
    }

    /// Parses a path such as `tile/0/x001/234.p/17`.
    pub fn parse(path: &str) -> Option<TileName> {
        let rest = path.strip_prefix("tile/")?;
        let (kind, rest) = rest.split_once('/')?;
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index, text)) => {
                let width: u64 = text.parse().ok()?;
                if !(1..WIDTH).contains(&width) || width.to_string() != text {
                    return None;
                }
                (index, width)
            }
            None => (rest, WIDTH),
        };
        let index = decode_index(&index_part.split('/').collect::<Vec<_>>())?;
        if kind == "entries" {
            return Some(TileName::Entries { index, width });
        }
        let level: u8 = kind.parse().ok().filter(|l: &u8| *l < 8)?;
        (kind == level.to_string()).then_some(TileName::Hashes {
            level,
            index,
            width,
        })
    }
}

/// The hashes of a tile, concatenated, when the tree holds them all.
pub fn hash_tile(tree: &Tree, level: u8, index: u64, width: u64) -> Option<Vec<u8>> {
    let tree_level = usize::from(level) * HEIGHT;
    let first = index.checked_mul(WIDTH)?;
    let mut out = Vec::with_capacity(usize::try_from(width).ok()? * 32);
    for i in first..first.checked_add(width)? {
        out.extend_from_slice(tree.stored(tree_level, i)?);
    }
    Some(out)
}

/// The tiles a tree of `size` entries has (full ones, then the partial
/// right edge of each level), for publishing.
pub fn tiles_of(size: u64) -> Vec<TileName> {
    let mut names = Vec::new();
    for level in 0u8..8 {
        let count = size >> (usize::from(level) * HEIGHT);
        if count == 0 {
            break;
        }
        for index in 0..count / WIDTH {
            names.push(TileName::Hashes {
                level,
                index,
                width: WIDTH,
            });
        }
        if !count.is_multiple_of(WIDTH) {
            names.push(TileName::Hashes {
                level,
                index: count / WIDTH,
                width: count % WIDTH,
            });
        }
    }
    names
}

/// An entry bundle: each entry as a big-endian u16 length and its bytes;
/// `None` when an entry is longer than 65,535 bytes.
pub fn bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for entry in entries {
        let length = u16::try_from(entry.len()).ok()?;
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Some(out)
}

/// Splits an entry bundle into its entries.
pub fn unbundle(mut data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut entries = Vec::new();
    while !data.is_empty() {
        let (length, rest) = data.split_at_checked(2)?;
        let length = usize::from(u16::from_be_bytes([length[0], length[1]]));
        let (entry, rest) = rest.split_at_checked(length)?;
        entries.push(entry.to_vec());
        data = rest;
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_tlog_tiles_spelling() {
        let cases = [
            (
                TileName::Hashes {
                    level: 0,
                    index: 1_234_067,
                    width: 256,
                },
                "tile/0/x001/x234/067",
            ),
            (
                TileName::Hashes {
                    level: 1,
                    index: 0,
                    width: 17,
                },
                "tile/1/000.p/17",
            ),
            (
                TileName::Entries {
                    index: 5,
                    width: 256,
                },
                "tile/entries/005",
            ),
        ];
        for (name, path) in cases {
            assert_eq!(name.path(), path);
            assert_eq!(TileName::parse(path), Some(name), "{path}");
        }
        for bad in [
            "tile/0/1",
            "tile/0/x000/001",
            "tile/9/000",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/0/000.p/017",
            "../etc",
        ] {
            assert_eq!(TileName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn tiles_cover_the_tree_and_bundles_round_trip() {
        let names = tiles_of(70_000);
        assert!(names.contains(&TileName::Hashes {
            level: 0,
            index: 273,
            width: 112
        }));
        assert!(names.contains(&TileName::Hashes {
            level: 1,
            index: 1,
            width: 17
        }));
        assert!(names.contains(&TileName::Hashes {
            level: 2,
            index: 0,
            width: 1
        }));
        let entries: Vec<&[u8]> = vec![b"a", b"", b"certificate"];
        assert_eq!(
            bundle(entries.iter().copied())
                .as_deref()
                .and_then(unbundle),
            Some(entries.iter().map(|e| e.to_vec()).collect())
        );
        assert_eq!(unbundle(&[0, 5, 1]), None);
    }
}
