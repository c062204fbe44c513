/// The `q` quantile (0 to 1) of `sorted` (ascending), interpolated linearly between the two
/// values around rank `(n - 1) * q`, as DuckDB's `quantile_cont`, PostgreSQL's
/// `percentile_cont` and numpy's default do; `None` for no values.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = last as f64 * q.clamp(0.0, 1.0);
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (sorted[lo], sorted[hi.min(last)]);
    Some(if lo == hi { a } else { a + (b - a) * (rank - lo as f64) })
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn interpolates_between_the_values_around_the_rank() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[3.0], 0.9), Some(3.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        // rank 0.9 * 4 = 3.6: 40% of the way from 4 to 10.
        assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0, 10.0], 0.9), Some(4.0 + 6.0 * (3.6 - 3.0)));
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 1.0), Some(3.0));
        assert_eq!(quantile(&[1.0, 2.0, 3.0], 0.0), Some(1.0));
    }
}
