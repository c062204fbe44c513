//! How well scores rank outcomes.

/// The area under the ROC curve: the chance that a random positive scores above a random
/// negative (ties count half). `None` when there are no positives or no negatives.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    assert_eq!(scores.len(), positive.len(), "one outcome per score");
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut positives) = (0.0, 0usize);
    let mut i = 0;
    while i < order.len() {
        // Tied scores share the mean of their ranks (1-based).
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            if positive[k] {
                rank_sum += rank;
                positives += 1;
            }
        }
        i = j + 1;
    }
    let negatives = scores.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_counting_pairs() {
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(roc_auc(&[1.0, 2.0], &[false, true]), Some(1.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5), "a tie counts half");
        assert_eq!(roc_auc(&[0.5, 0.7], &[true, true]), None);
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_pair_count(data in proptest::collection::vec((0u8..20, proptest::bool::ANY), 2..60)) {
            let scores: Vec<f64> = data.iter().map(|(s, _)| *s as f64).collect();
            let positive: Vec<bool> = data.iter().map(|(_, p)| *p).collect();
            let (mut wins, mut pairs) = (0.0, 0.0);
            for i in 0..data.len() {
                for j in 0..data.len() {
                    if positive[i] && !positive[j] {
                        pairs += 1.0;
                        wins += if scores[i] > scores[j] { 1.0 } else if scores[i] == scores[j] { 0.5 } else { 0.0 };
                    }
                }
            }
            let expected = (pairs > 0.0).then(|| wins / pairs);
            match (roc_auc(&scores, &positive), expected) {
                (Some(a), Some(b)) => proptest::prop_assert!((a - b).abs() < 1e-12),
                (a, b) => proptest::prop_assert_eq!(a, b),
            }
        }
    }
}
