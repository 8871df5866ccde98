//! The object cache a store handle reads through: decoded pack entries by
//! pack offset, so resolving a delta chain can stop at an object decoded
//! before instead of inflating the whole chain again.

/// Memory for decoded pack entries.
pub(super) const DELTA_BASE_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Decoded pack entries by pack offset, so resolving a delta chain can stop
/// at an object decoded before instead of inflating the whole chain again.
/// After `git gc` claim files are deltas of one another (chains up to 50
/// deep); without this, listing 10k claims inflates each chain from scratch.
/// (gix has LRU caches for this behind its `max-performance` feature, which
/// baton does not enable.) When full, it starts over.
pub(super) struct DeltaBaseCache {
    entries: std::collections::HashMap<(u32, u64), (gix::objs::Kind, usize, Vec<u8>)>,
    bytes: usize,
    cap: usize,
}

impl DeltaBaseCache {
    pub(super) fn new(cap: usize) -> Self {
        DeltaBaseCache {
            entries: Default::default(),
            bytes: 0,
            cap,
        }
    }
}

impl gix::odb::pack::cache::DecodeEntry for DeltaBaseCache {
    fn put(&mut self, pack_id: u32, offset: u64, data: &[u8], kind: gix::objs::Kind, compressed_size: usize) {
        if data.len() > self.cap / 4 {
            return;
        }
        if self.bytes + data.len() > self.cap {
            self.entries.clear();
            self.bytes = 0;
        }
        let old = self
            .entries
            .insert((pack_id, offset), (kind, compressed_size, data.to_vec()));
        self.bytes += data.len();
        if let Some((_, _, old)) = old {
            self.bytes -= old.len();
        }
    }

    fn get(&mut self, pack_id: u32, offset: u64, out: &mut Vec<u8>) -> Option<(gix::objs::Kind, usize)> {
        let (kind, compressed_size, data) = self.entries.get(&(pack_id, offset))?;
        out.clear();
        out.extend_from_slice(data);
        Some((*kind, *compressed_size))
    }
}
