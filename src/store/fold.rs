//! Which packs of earlier writes a workflow run's writer folds into one
//! when it starts, so packs do not pile up one per run between two
//! `git gc`s.
//!
//! Every process that reads the state lists the pack directory and loads
//! indices until it finds the tip: each pack costs every later command a
//! few system calls and, when the tip is in a late one, an index load.
//! A run's writer leaves one pack; without folding, N runs leave N. So
//! when it starts (while the first steps run, off the way to the run's
//! end) it rolls up the smallest of the packs already there the way `git
//! repack --geometric=2` does: nothing while there are at most [`LEAVE`]
//! small ones, then the smallest packs until those left form a progression
//! in which each is at least twice the one before. Each object is thus
//! copied a few times at most however many runs there are, most runs
//! copy nothing, and no write copies more than [`MAX_BYTES`]. A pack of
//! [`BIG`] or more is left for `git gc`: copying it again on every few
//! runs would cost more than it saves.
//!
//! Folding runs beside the run's first steps, but it is not free for them:
//! on two cores its copying and the sync of the pack it writes slowed the
//! first step of a 20-step run by milliseconds (docs/performance.md). The
//! geometric rule is what keeps that to the few runs that fold.
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

/// Small packs left as they are: folding fewer costs more (a pack written
/// and synced) than the packs cost the commands that read them.
const LEAVE: usize = 4;

/// At most this much of earlier packs is copied by one fold (2–5 ms a MiB
/// here, copied and synced beside running steps), so a run never copies a
/// large history (git gc folds those):
/// a run with no steps to hide it behind waits for its fold before its
/// end lands. With the geometric rule a fold this large is rare (one run
/// in dozens); most copy a few small packs or nothing.
const MAX_BYTES: u64 = 8 << 20;

/// A pack this large is never folded again (only `git gc` does). Much
/// smaller, and a history of runs with large ledgers would pile up packs
/// of this size one every few runs (every reader pays for each).
const BIG: u64 = MAX_BYTES / 2;

/// Each pack left after a fold is at least this many times the one before
/// it (git's `--geometric=2`).
const FACTOR: u64 = 2;

/// Files beside a pack that say someone else looks after it.
const LOOKED_AFTER: [&str; 5] = ["keep", "rev", "bitmap", "promisor", "mtimes"];

/// The indices of the packs in `pack_dir` to fold, besides `own` (the
/// writer's packs, which its last write takes in).
pub fn earlier(pack_dir: &Path, own: &[PathBuf]) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(pack_dir) else {
        return Vec::new();
    };
    // One listing, not a lookup per pack for each file that may sit beside it.
    let names: std::collections::BTreeSet<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    if names.contains("multi-pack-index") {
        return Vec::new();
    }
    let beside = |stem: &str, ext: &str| names.contains(&format!("{stem}.{ext}"));
    let packs: Vec<(PathBuf, u64)> = names
        .iter()
        .filter_map(|name| name.strip_suffix(".idx"))
        .filter(|stem| stem.starts_with("pack-") && LOOKED_AFTER.iter().all(|ext| !beside(stem, ext)))
        .map(|stem| pack_dir.join(format!("{stem}.idx")))
        .filter(|index| !own.contains(index))
        .filter_map(|index| {
            let size = std::fs::metadata(index.with_extension("pack")).ok()?.len();
            Some((index, size))
        })
        .collect();
    let sizes: Vec<u64> = packs.iter().map(|p| p.1).collect();
    let fold = to_fold(&sizes);
    packs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| fold.contains(i))
        .map(|(_, p)| p.0)
        .collect()
}

/// Which of the packs (by their sizes) to fold: none while at most
/// [`LEAVE`] are smaller than [`BIG`]; else, among those, git's geometric
/// roll-up ([`roll_up`]), of at most [`MAX_BYTES`] (the smallest first).
/// At least two, or none.
fn to_fold(sizes: &[u64]) -> Vec<usize> {
    let mut small: Vec<usize> = (0..sizes.len()).filter(|&i| sizes[i] < BIG).collect();
    if small.len() <= LEAVE {
        return Vec::new();
    }
    small.sort_by_key(|&i| (sizes[i], i));
    let ascending: Vec<u64> = small.iter().map(|&i| sizes[i]).collect();
    let mut n = roll_up(&ascending);
    while n > 0 && ascending[..n].iter().sum::<u64>() > MAX_BYTES {
        n -= 1;
    }
    if n < 2 {
        return Vec::new();
    }
    small.truncate(n);
    small
}

/// How many of the smallest packs (sizes ascending) to roll into one so
/// that the packs left, with the new one, grow by at least [`FACTOR`] from
/// each to the next — `git repack --geometric`'s split: the packs below
/// the largest pair that breaks the progression, then each next one the
/// rolled-up pack would not be [`FACTOR`] times smaller than.
fn roll_up(ascending: &[u64]) -> usize {
    let len = ascending.len();
    let mut split = (1..len)
        .rev()
        .find(|&i| ascending[i] < FACTOR.saturating_mul(ascending[i - 1]))
        .map_or(0, |i| i + 1);
    let mut total: u64 = ascending[..split].iter().sum();
    while split < len && ascending[split] < FACTOR.saturating_mul(total) {
        total += ascending[split];
        split += 1;
    }
    split
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_few_packs_are_left_alone() {
        assert!(to_fold(&[]).is_empty());
        assert!(to_fold(&[10, 10, 10, 10]).is_empty());
        // Big ones do not count: four small ones are left too.
        assert!(to_fold(&[BIG, BIG, 10, 10, 10, 10]).is_empty());
    }

    #[test]
    fn equal_packs_roll_up_into_one() {
        assert_eq!(to_fold(&[10, 10, 10, 10, 10]), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_progression_is_left_as_it_is() {
        // Each at least twice the one before: nothing to do.
        assert!(to_fold(&[1000, 300, 100, 30, 10]).is_empty());
        // Only the smallest that break it roll up, here the three 10s
        // (30, then 100 is not twice 60): 100 stays.
        assert_eq!(to_fold(&[1000, 300, 100, 10, 10, 10]), vec![3, 4, 5]);
    }

    #[test]
    fn a_rolled_up_pack_takes_in_the_next_it_would_not_outgrow_twice() {
        // 10 + 10 = 20; 30 < 40, so 30 joins; 100 >= 2 x 50 stays.
        let mut fold = to_fold(&[100, 30, 10, 10, 1000]);
        fold.sort();
        assert_eq!(fold, vec![1, 2, 3]);
    }

    #[test]
    fn nothing_big_and_nothing_past_the_byte_cap_is_copied() {
        assert!(to_fold(&[1, 1, 1, BIG, 1]).is_empty());
        let third = BIG - 1;
        // Five packs just under BIG: all break the progression, but only
        // two fit under the cap.
        assert_eq!(to_fold(&[third; 5]).len(), 2);
    }

    proptest! {
        /// Runs' packs folded at each write, as the writer does: small
        /// packs stay few, no write copies more than the cap, and all
        /// writes together copy each byte a few times at most.
        #[test]
        fn packs_stay_few_however_many_runs(runs in proptest::collection::vec(1u64..300_000, 1..300)) {
            let mut packs: Vec<u64> = Vec::new();
            let (mut written, mut copied) = (0u64, 0u64);
            for run in runs {
                packs.push(run);
                written += run;
                let fold = to_fold(&packs);
                let folded: u64 = fold.iter().map(|&i| packs[i]).sum();
                prop_assert!(folded <= MAX_BYTES);
                copied += folded;
                let mut i = 0;
                packs.retain(|_| { i += 1; !fold.contains(&(i - 1)) });
                if !fold.is_empty() {
                    packs.push(folded);
                }
                let small = packs.iter().filter(|&&s| s < BIG).count();
                prop_assert!(small <= LEAVE + 20, "{} small packs: {:?}", small, packs);
            }
            prop_assert!(copied <= 6 * written, "{copied} bytes copied for {written} written");
        }
    }
}
