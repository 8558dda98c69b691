use super::*;

const AFTER: Duration = Duration::from_secs(20);
const CHECKPOINT: Duration = Duration::from_secs(2);

/// One partition: number, held here, consumed up to, end.
fn p(partition: i32, mine: bool, consumed: i64, end: i64) -> PartitionView {
    PartitionView {
        partition,
        mine,
        consumed,
        end,
    }
}

fn watch() -> (Watch, Stuck) {
    let stuck = Stuck::default();
    (Watch::new(AFTER, CHECKPOINT, stuck.clone()), stuck)
}

fn at(s: u64) -> Instant {
    thread_local!(static T0: Instant = Instant::now());
    T0.with(|t0| *t0 + Duration::from_secs(s))
}

#[test]
fn a_member_without_partitions_is_starved_while_the_group_stands_still() {
    let (mut w, stuck) = watch();
    let view = [p(0, false, 100, 150)];
    // Others' partitions wait `after` plus a checkpoint interval (commits come at checkpoints).
    assert_eq!(w.observe(&view, false, true, at(0)), None);
    assert_eq!(w.observe(&view, false, true, at(21)), None);
    assert_eq!(stuck.reason(), None);
    assert_eq!(w.observe(&view, false, true, at(22)), Some(Reason::Starved));
    assert_eq!(stuck.reason(), Some(Reason::Starved));
    // Stays reported; holding nothing after its rejoin, it joins again half an `after` later.
    assert_eq!(w.observe(&view, false, true, at(27)), None);
    assert_eq!(stuck.reason(), Some(Reason::Starved));
    assert_eq!(w.observe(&view, false, true, at(32)), Some(Reason::Starved));
    assert_eq!(w.observe(&view, false, true, at(41)), None);
    assert_eq!(w.observe(&view, false, true, at(42)), Some(Reason::Starved));
    // Work assigned: no longer starved.
    assert_eq!(
        w.observe(&[p(0, true, 100, 150)], false, true, at(43)),
        None
    );
    assert_eq!(stuck.reason(), None);
}

#[test]
fn moving_offsets_or_nothing_to_consume_is_never_starvation() {
    let (mut w, stuck) = watch();
    for (i, s) in [0, 15, 30, 45, 60].into_iter().enumerate() {
        let view = [p(0, false, 100 + i as i64, 150)];
        assert_eq!(w.observe(&view, false, true, at(s)), None);
    }
    for s in [70, 100, 200] {
        assert_eq!(
            w.observe(&[p(0, false, 150, 150)], false, true, at(s)),
            None
        );
    }
    assert_eq!(stuck.reason(), None);
}

#[test]
fn a_dead_members_partitions_waiting_beside_live_work_are_orphaned() {
    let (mut w, stuck) = watch();
    // This member consumes partition 0; partition 1 (a dead member's) does not move.
    for (i, s) in [0, 10, 21].into_iter().enumerate() {
        let view = [p(0, true, 10 * i as i64, 100), p(1, false, 40, 90)];
        assert_eq!(w.observe(&view, true, true, at(s)), None);
    }
    let view = [p(0, true, 30, 100), p(1, false, 40, 90)];
    assert_eq!(
        w.observe(&view, true, true, at(22)),
        Some(Reason::Orphaned(vec![1]))
    );
    assert_eq!(stuck.reason(), Some(Reason::Orphaned(vec![1])));
    assert!(stuck
        .reason()
        .unwrap()
        .describe()
        .contains("partitions 1 wait"));
}

#[test]
fn held_partitions_that_take_no_record_are_stalled_and_rejoin_only_if_the_store_works() {
    let (mut w, stuck) = watch();
    let view = [p(0, true, 5, 50), p(1, true, 9, 9)];
    assert_eq!(w.observe(&view, false, false, at(0)), None);
    // The store failing is the cause: reported as stalled, no rejoin.
    assert_eq!(w.observe(&view, false, false, at(20)), None);
    assert_eq!(stuck.reason(), Some(Reason::Stalled(vec![0])));
    // The store works: joining again may get the records flowing.
    assert_eq!(
        w.observe(&view, false, true, at(21)),
        Some(Reason::Stalled(vec![0]))
    );
}

#[test]
fn a_member_that_worked_since_the_last_look_is_not_stalled() {
    let (mut w, stuck) = watch();
    let view = [p(0, true, 5, 50)];
    // A checkpoint that took 30 s: the position stood still, but the member was working.
    assert_eq!(w.observe(&view, false, true, at(0)), None);
    assert_eq!(w.observe(&view, true, true, at(30)), None);
    assert_eq!(stuck.reason(), None);
    assert_eq!(w.observe(&view, false, true, at(49)), None);
    assert_eq!(
        w.observe(&view, false, true, at(50)),
        Some(Reason::Stalled(vec![0]))
    );
}

#[test]
fn a_rejoin_that_leaves_the_member_empty_handed_is_retried_sooner() {
    let (mut w, stuck) = watch();
    // Partition 1's member died: it waits beside this member's work on partition 0.
    let working = |s: i64| [p(0, true, 30 + s, 100), p(1, false, 40, 90)];
    assert_eq!(w.observe(&working(0), true, true, at(0)), None);
    assert_eq!(
        w.observe(&working(22), true, true, at(22)),
        Some(Reason::Orphaned(vec![1]))
    );
    // The rebalance took partition 0 away and gave nothing: partition 1 still waits, and
    // the next rejoin comes half an `after` later, not a full one.
    let empty = [p(0, false, 52, 100), p(1, false, 40, 90)];
    assert_eq!(w.observe(&empty, false, true, at(27)), None);
    assert_eq!(stuck.reason(), Some(Reason::Starved));
    assert_eq!(
        w.observe(&empty, false, true, at(32)),
        Some(Reason::Starved)
    );
    assert_eq!(w.futile_rejoins(), 2);
}

#[test]
fn a_rejoin_that_did_not_help_is_followed_by_a_sooner_one_and_counted() {
    // Holding work while another's partition waits: a full `after` for the first rejoin's
    // rebalance to show its effect, half of one after that.
    let (mut w, _) = watch();
    let working = |s: i64| [p(0, true, 30 + s, 100), p(1, false, 40, 90)];
    assert_eq!(w.observe(&working(0), true, true, at(0)), None);
    assert!(w.observe(&working(22), true, true, at(22)).is_some());
    assert_eq!(w.futile_rejoins(), 1);
    assert_eq!(w.observe(&working(31), true, true, at(31)), None);
    assert_eq!(
        w.observe(&working(32), true, true, at(32)),
        Some(Reason::Orphaned(vec![1]))
    );
    // Past the first in a row, the worker starts over with a new consumer.
    assert_eq!(w.futile_rejoins(), 2);
    // The partition is taken over: nothing waits, and the count starts again.
    let taken = [p(0, true, 70, 100), p(1, true, 40, 90)];
    assert_eq!(w.observe(&taken, true, true, at(37)), None);
    assert_eq!(w.futile_rejoins(), 0);
}

#[test]
fn a_member_holding_nothing_that_cannot_see_the_group_joins_again() {
    let (mut w, stuck) = watch();
    // Holding partitions, an unreadable group is no reason to act.
    assert_eq!(w.observe_blind(true, false, at(0)), None);
    assert_eq!(w.observe_blind(true, false, at(30)), None);
    assert_eq!(stuck.reason(), None);
    // Holding none: after `after` plus a checkpoint interval of not seeing it, join again.
    let (mut w, stuck) = watch();
    assert_eq!(w.observe_blind(false, false, at(0)), None);
    assert_eq!(w.observe_blind(false, false, at(21)), None);
    assert_eq!(w.observe_blind(false, false, at(22)), Some(Reason::Unseen));
    assert!(stuck
        .reason()
        .unwrap()
        .describe()
        .contains("cannot be read"));
    assert_eq!(w.futile_rejoins(), 1);
    // Again half an `after` later while it still sees nothing and holds nothing: the first
    // rejoin did not help (the worker then starts over with a new consumer).
    assert_eq!(w.observe_blind(false, false, at(27)), None);
    assert_eq!(w.futile_rejoins(), 1);
    assert_eq!(w.observe_blind(false, false, at(32)), Some(Reason::Unseen));
    assert_eq!(w.futile_rejoins(), 2);
    // Seeing the group again starts afresh: nothing waits, nothing to report.
    assert_eq!(w.observe(&[p(0, true, 150, 150)], true, true, at(33)), None);
    assert_eq!(stuck.reason(), None);
    assert_eq!(w.futile_rejoins(), 0);
    assert_eq!(w.observe_blind(false, false, at(40)), None);
}

#[test]
fn a_static_member_holding_nothing_that_cannot_see_the_group_starts_over_after_half_a_bound() {
    let (mut w, stuck) = watch();
    assert_eq!(w.observe_blind(false, true, at(0)), None);
    assert_eq!(w.observe_blind(false, true, at(9)), None);
    assert_eq!(stuck.reason(), None);
    assert_eq!(w.observe_blind(false, true, at(10)), Some(Reason::Unseen));
    assert_eq!(stuck.reason(), Some(Reason::Unseen));
    // Holding partitions, it waits like any member; the half bound counts from the moment it
    // holds nothing.
    let (mut w, _) = watch();
    assert_eq!(w.observe_blind(true, true, at(0)), None);
    assert_eq!(w.observe_blind(true, true, at(30)), None);
    assert_eq!(w.observe_blind(false, true, at(31)), None);
    assert_eq!(w.observe_blind(false, true, at(40)), None);
    assert_eq!(w.observe_blind(false, true, at(41)), Some(Reason::Unseen));
}
