//! A lead's events as scoring needs them, packed into one blob per lead.
//!
//! Rescoring a million leads reads a million blobs instead of twenty million index rows: that is
//! what this table is for. It is a projection of `events` (time, shape, and the row's `seq`, so
//! that the timeline and deletes can reach the full rows), kept in the same transactions.
//!
//! Format: count, then per event in (ts, seq) order: ts (first absolute, then the gap), shape id,
//! seq (zigzag difference from the previous). All LEB128 varints.

use leadflow_core::Timestamp;
use leadflow_store::{ShapeId, StoreError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Item {
    pub ts: Timestamp,
    pub seq: i64,
    pub shape: ShapeId,
}

pub fn encode(items: &[Item]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + items.len() * 6);
    put(&mut out, items.len() as u64);
    let (mut prev_ts, mut prev_seq) = (0i64, 0i64);
    for (i, it) in items.iter().enumerate() {
        let ts = it.ts.millis();
        if i == 0 {
            put(&mut out, zigzag(ts));
        } else {
            put(&mut out, (ts - prev_ts) as u64);
        }
        put(&mut out, u64::from(it.shape));
        put(&mut out, zigzag(it.seq - prev_seq));
        prev_ts = ts;
        prev_seq = it.seq;
    }
    out
}

/// Calls `each` for every item, oldest first.
pub fn decode(bytes: &[u8], mut each: impl FnMut(Item)) -> Result<(), StoreError> {
    let mut at = 0;
    let n = get(bytes, &mut at)?;
    let (mut ts, mut seq) = (0i64, 0i64);
    for i in 0..n {
        let t = get(bytes, &mut at)?;
        ts = if i == 0 { unzigzag(t) } else { ts + t as i64 };
        let shape = ShapeId::try_from(get(bytes, &mut at)?).map_err(|_| corrupt())?;
        seq += unzigzag(get(bytes, &mut at)?);
        each(Item { ts: Timestamp::from_millis(ts), seq, shape });
    }
    if at != bytes.len() {
        return Err(corrupt());
    }
    Ok(())
}

pub fn decode_all(bytes: &[u8]) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    decode(bytes, |it| items.push(it))?;
    Ok(items)
}

/// Adds `new` (any order) to `items` (sorted), keeping (ts, seq) order. An event already there
/// (same seq) is not added twice, so folding the same events again changes nothing.
pub fn merge(items: &mut Vec<Item>, new: &[Item]) {
    items.extend_from_slice(new);
    items.sort_unstable();
    items.dedup();
}

fn corrupt() -> StoreError {
    StoreError::Corrupt("a lead's packed activity is unreadable".into())
}

fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

fn put(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push((x as u8) | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn get(bytes: &[u8], at: &mut usize) -> Result<u64, StoreError> {
    let mut x = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at).ok_or_else(corrupt)?;
        *at += 1;
        x |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Ok(x);
        }
    }
    Err(corrupt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_merges_in_order() {
        let it = |ts: i64, seq: i64, shape: u32| Item { ts: Timestamp::from_millis(ts), seq, shape };
        let mut items = vec![it(-5_000, 9, 1), it(1_750_000_000_000, 3, 7), it(1_750_000_000_000, 4, 300)];
        assert_eq!(decode_all(&encode(&items)).unwrap(), items);
        merge(&mut items, &[it(1_760_000_000_000, 10, 2), it(0, 11, 2)]);
        assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), [9, 11, 3, 4, 10]);
        assert_eq!(decode_all(&encode(&items)).unwrap(), items);
        let before = items.clone();
        merge(&mut items, &[it(0, 11, 2)]);
        assert_eq!(items, before, "merging an event again changes nothing");
        assert_eq!(decode_all(&encode(&[])).unwrap(), []);
        let bytes = encode(&items);
        assert!(decode_all(&bytes[..bytes.len() - 1]).is_err());
    }
}
