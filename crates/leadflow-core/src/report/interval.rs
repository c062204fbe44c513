/// The 95% Wilson score interval of a proportion of `hits` in `n`: what the true rate may be,
/// honest where counts are small (it never leaves 0 to 1, and is wide for few leads); `None`
/// for none.
pub fn wilson(hits: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    const Z: f64 = 1.959_963_984_540_054;
    let (n, p) = (n as f64, hits as f64 / n as f64);
    let denominator = 1.0 + Z * Z / n;
    let centre = (p + Z * Z / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + Z * Z / (4.0 * n * n)).sqrt() / denominator;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::wilson;

    #[test]
    fn the_interval_is_wide_for_few_and_narrow_for_many() {
        assert_eq!(wilson(0, 0), None);
        // Known values: 5 of 10 is 0.2366 to 0.7634; 0 of 10 is 0 to 0.2775.
        let (lo, hi) = wilson(5, 10).unwrap();
        assert!((lo - 0.236_593).abs() < 1e-6 && (hi - 0.763_407).abs() < 1e-6, "{lo} {hi}");
        let (lo, hi) = wilson(0, 10).unwrap();
        assert!(lo < 1e-12 && (hi - 0.277_533).abs() < 1e-6, "{lo} {hi}");
        let (lo, hi) = wilson(500, 1000).unwrap();
        assert!(hi - lo < 0.07);
    }
}
