"""The pure rule: forward-only, final is terminal, every distinct status once in the history."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from voice_status.rules import MessageState, apply_report
from voice_status.statuses import MessageStatus as S

LIFECYCLES = [
    [S.QUEUED, S.INITIATED, S.RINGING, S.IN_PROGRESS, S.COMPLETED],
    [S.QUEUED, S.INITIATED, S.RINGING, S.BUSY],
    [S.QUEUED, S.INITIATED, S.FAILED],
    [S.QUEUED, S.UNSENT],
    [S.QUEUED, S.INITIATED, S.UNKNOWN],
    [S.QUEUED, S.INITIATED, S.UNKNOWN, S.COMPLETED],
]


def _deliver(reports: list[tuple[S, str]]) -> tuple[MessageState | None, int]:
    state, finalized = None, 0
    for status, at in reports:
        outcome = apply_report(state, status, at)
        state, finalized = outcome.state, finalized + outcome.became_final
    return state, finalized


def _timed(lifecycle: list[S]) -> list[tuple[S, str]]:
    return [(status, f"2026-11-27T09:00:{second:02d}.000Z") for second, status in enumerate(lifecycle)]


def test_in_order_delivery_walks_the_lifecycle() -> None:
    state, finalized = _deliver(_timed(LIFECYCLES[0]))
    assert state is not None and state.status is S.COMPLETED and state.final
    assert [status for status, _ in state.ordered_history()] == LIFECYCLES[0]
    assert finalized == 1


def test_stale_intermediate_is_kept_in_history_but_does_not_move_back() -> None:
    state = apply_report(None, S.RINGING, "2026-11-27T09:00:04.000Z").state
    outcome = apply_report(state, S.INITIATED, "2026-11-27T09:00:02.000Z")
    assert outcome.state.status is S.RINGING and not outcome.applied and outcome.history_added
    assert [status for status, _ in outcome.state.ordered_history()] == [S.INITIATED, S.RINGING]


def test_first_final_status_is_terminal() -> None:
    state = apply_report(None, S.BUSY, "2026-11-27T09:00:04.000Z").state
    later_final = apply_report(state, S.COMPLETED, "2026-11-27T09:00:09.000Z")
    assert later_final.state.status is S.BUSY
    assert not later_final.applied and not later_final.became_final
    assert S.COMPLETED in later_final.state.history


def test_duplicate_changes_nothing() -> None:
    state = apply_report(None, S.QUEUED, "2026-11-27T09:00:00.000Z").state
    outcome = apply_report(state, S.QUEUED, "2026-11-27T09:00:00.000Z")
    assert outcome.state == state and not outcome.applied and not outcome.history_added


@st.composite
def shuffled_with_duplicates(draw: st.DrawFn) -> tuple[list[tuple[S, str]], list[tuple[S, str]]]:
    in_order = _timed(draw(st.sampled_from(LIFECYCLES)))
    repeats = draw(st.lists(st.sampled_from(in_order), max_size=6))
    return in_order, draw(st.permutations(in_order + repeats))


@given(shuffled_with_duplicates())
def test_any_order_and_duplication_ends_like_in_order_delivery(
    case: tuple[list[tuple[S, str]], list[tuple[S, str]]],
) -> None:
    in_order, delivered = case
    expected, expected_finalized = _deliver(in_order)
    actual, finalized = _deliver(delivered)
    assert actual is not None and expected is not None
    # History is identical; the status is the highest reached, except that a final status wins.
    assert actual.ordered_history() == expected.ordered_history()
    assert actual.status is expected.status
    assert finalized == expected_finalized


def test_every_pair_order_of_two_finals_counts_once() -> None:
    for first, second in itertools.permutations([S.BUSY, S.COMPLETED]):
        _, finalized = _deliver([(first, "2026-11-27T09:00:01.000Z"), (second, "2026-11-27T09:00:02.000Z")])
        assert finalized == 1
