//! Which packs of earlier writes a workflow run's writer folds into one
//! when it starts, so packs do not pile up one per run between two
//! `git gc`s.
//!
//! Every process that reads the state lists the pack directory and loads
//! indices until it finds the tip: each pack costs every later command a
//! few system calls and, when the tip is in a late one, an index load.
//! A run's writer leaves one pack; without folding, N runs leave N. So
//! when it starts (while the first steps run, off the way to the run's
//! end) it folds the newest of the packs already there, geometrically (like `git repack --geometric=2`): packs are folded only
//! when there are more than [`LEAVE`], and only as many of the newest as
//! together weigh at least the one before them, so each object is copied
//! a few times at most however many runs there are, and at most
//! [`MAX_BYTES`] are copied by one write.
//!
//! Only packs nothing else looks after are candidates: a pack with a
//! `.keep` (another writer's, not yet reachable; or git's), a `.rev`,
//! `.bitmap`, `.promisor` or `.mtimes` beside it, or any pack while a
//! multi-pack-index exists, is left to git. A pack with deltas is not
//! baton's and is skipped when it is opened (`pack::merge`). Deleting a
//! folded pack is what `git repack -d` does: its objects are in the new,
//! synced pack before it goes, and a reader that misses it lists the
//! directory again.

use std::path::{Path, PathBuf};

/// Packs left as they are: folding fewer costs more (a pack written and
/// synced) than the packs cost the commands that read them.
const LEAVE: usize = 4;

/// At most this much of earlier packs is copied by one fold (~2 ms here),
/// so a run never copies a large history (git gc folds those): a run with
/// no steps to hide it behind waits for its fold before its end lands.
const MAX_BYTES: u64 = 1 << 20;

/// Files beside a pack that say someone else looks after it.
const LOOKED_AFTER: [&str; 5] = ["keep", "rev", "bitmap", "promisor", "mtimes"];

/// The indices of the packs in `pack_dir` to fold, besides `own` (the
/// writer's packs, which its last write takes in).
pub fn earlier(pack_dir: &Path, own: &[PathBuf]) -> Vec<PathBuf> {
    if pack_dir.join("multi-pack-index").exists() {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(pack_dir) else {
        return Vec::new();
    };
    let mut packs: Vec<(PathBuf, std::time::SystemTime, u64)> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension().is_some_and(|e| e == "idx")
                && path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("pack-"))
                && !own.contains(path)
                && LOOKED_AFTER.iter().all(|ext| !path.with_extension(ext).exists())
        })
        .filter_map(|index| {
            let meta = std::fs::metadata(index.with_extension("pack")).ok()?;
            Some((index, meta.modified().ok()?, meta.len()))
        })
        .collect();
    // Oldest first, as they were written.
    packs.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
    let sizes: Vec<u64> = packs.iter().map(|p| p.2).collect();
    let n = newest_to_fold(&sizes);
    packs.split_off(packs.len() - n).into_iter().map(|p| p.0).collect()
}

/// How many of the newest packs (sizes oldest first) to fold: none while
/// there are at most [`LEAVE`]; else the newest two and each older one
/// that weighs no more than the newer ones together, up to [`MAX_BYTES`].
fn newest_to_fold(sizes: &[u64]) -> usize {
    let len = sizes.len();
    if len <= LEAVE {
        return 0;
    }
    let mut n = 2;
    let mut newest: u64 = sizes[len - 2..].iter().sum();
    if newest > MAX_BYTES {
        return 0;
    }
    while n < len && sizes[len - n - 1] <= newest && newest + sizes[len - n - 1] <= MAX_BYTES {
        newest += sizes[len - n - 1];
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_few_packs_are_left_alone() {
        assert_eq!(newest_to_fold(&[]), 0);
        assert_eq!(newest_to_fold(&[10, 10, 10, 10]), 0);
    }

    #[test]
    fn equal_packs_fold_until_an_older_one_outweighs_the_newer() {
        // Five runs' packs of one size: all fold (each weighs no more than
        // the newer ones together).
        assert_eq!(newest_to_fold(&[10, 10, 10, 10, 10]), 5);
        // Then a big one and four new ones: the four fold, the big one stays.
        assert_eq!(newest_to_fold(&[50, 10, 10, 10, 10]), 4);
    }

    #[test]
    fn nothing_past_the_byte_cap_is_copied() {
        assert_eq!(newest_to_fold(&[1, 1, 1, MAX_BYTES, 1]), 0);
        let half = MAX_BYTES / 2;
        assert_eq!(newest_to_fold(&[4, 4, 4, 4, half, half]), 2);
    }

    proptest! {
        /// Runs' packs folded at each write, as the writer does: packs
        /// stay few, and no write copies more than the cap.
        #[test]
        fn packs_stay_few_however_many_runs(runs in proptest::collection::vec(1u64..5_000, 1..300)) {
            let mut packs: Vec<u64> = Vec::new();
            for run in runs {
                packs.push(run);
                let n = newest_to_fold(&packs);
                let folded: u64 = packs[packs.len() - n..].iter().sum();
                prop_assert!(folded <= MAX_BYTES);
                let keep = packs.len() - n;
                packs.truncate(keep);
                if n > 0 {
                    packs.push(folded);
                }
                prop_assert!(packs.len() <= 2 * LEAVE + 16, "{} packs: {:?}", packs.len(), packs);
            }
        }
    }
}
