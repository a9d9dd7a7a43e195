//! How a history is split: operations coupled by the rules share a part, others do not.

use dmtbs_checker::{History, partition};
use dmtbs_contract::Success as S;

use crate::{Hist, add_show, availability, book, cancel, remove_show, schedule};

fn parts(h: Hist) -> Vec<Vec<usize>> {
    let History { ops } = h.0;
    partition(&History { ops })
}

#[test]
fn shows_and_customers_couple_operations_and_nothing_else_does() {
    let ok = Ok(S::ShowAdded);
    let h = Hist::default()
        .op(
            0,
            0,
            1,
            add_show("ATWA0001", "Avatar", "ATWM251126", 5),
            ok.clone(),
        ) // 0
        .op(
            0,
            0,
            1,
            add_show("ATWA0001", "Avatar", "ATWE251126", 5),
            ok.clone(),
        ) // 1
        .op(
            0,
            0,
            1,
            add_show("VERA0001", "Titanic", "VERM251126", 5),
            ok.clone(),
        ) // 2
        .unknown(1, 2, book("ATWC0001", "Avatar", "ATWM251126", 1)) // 3: show 0
        .unknown(2, 2, book("ATWC0002", "Avatar", "ATWE251126", 1)) // 4: show 1
        .unknown(3, 2, book("ATWC0003", "Titanic", "VERM251126", 1)) // 5: show 2
        .unknown(3, 2, cancel("ATWC0003", "Titanic", "VERM251126", 1)) // 6: show 2
        .unknown(4, 2, schedule("OUTC0004")) // 7: alone
        .unknown(5, 2, book("ATWC001", "Avatar", "ATWM251126", 1)) // 8: malformed: alone
        .unknown(5, 2, book("ATWC0005", "Avatar", "ATWE251126", 1)); // 9: show 1
    assert_eq!(
        parts(h),
        vec![vec![0, 3], vec![1, 4, 9], vec![2, 5, 6], vec![7], vec![8]]
    );
}

#[test]
fn a_customer_couples_its_shows_and_a_movie_read_couples_the_movies_shows() {
    let ok = Ok(S::ShowAdded);
    let base = || {
        Hist::default()
            .op(
                0,
                0,
                1,
                add_show("ATWA0001", "Avatar", "ATWM251126", 5),
                ok.clone(),
            ) // 0
            .op(
                0,
                0,
                1,
                add_show("ATWA0001", "Avatar", "ATWE251126", 5),
                ok.clone(),
            ) // 1
            .op(
                0,
                0,
                1,
                add_show("ATWA0001", "Titanic", "ATWE251126", 5),
                ok.clone(),
            ) // 2
    };
    let h = base()
        .unknown(1, 2, book("ATWC0001", "Avatar", "ATWM251126", 1))
        .unknown(1, 2, book("ATWC0001", "Titanic", "ATWE251126", 1));
    assert_eq!(parts(h), vec![vec![0, 2, 3, 4], vec![1]]);
    let h = base().unknown(1, 2, availability("ATWC0001", "Avatar"));
    assert_eq!(parts(h), vec![vec![0, 1, 3], vec![2]]);
    // Removing a show couples it with the later shows of its movie and area, and their holders.
    let h = base()
        .unknown(1, 2, book("OUTC0009", "Avatar", "ATWE251126", 1)) // 3
        .unknown(1, 2, schedule("OUTC0009")) // 4
        .unknown(0, 2, remove_show("ATWA0001", "Avatar", "ATWM251126")); // 5
    assert_eq!(parts(h), vec![vec![0, 1, 3, 4, 5], vec![2]]);
}
