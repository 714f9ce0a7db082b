"""Average-cost PnL arithmetic, worked by hand."""

from decimal import Decimal

from botkit.journal.pnl import SPLIT_QUANTUM, PnL, from_fills
from botkit.model import Side

D = Decimal


def test_round_trip_with_fees() -> None:
    pnl = from_fills([(Side.BUY, D(100), D(1), D("0.1")), (Side.BUY, D(110), D(1), D("0.11")),
                      (Side.SELL, D(120), D("1.5"), D("0.18"))])
    # average cost (100 + 110) / 2 = 105; sell 1.5 at 120 realizes 1.5 x 15 = 22.5
    assert pnl.average_cost == D(105)
    assert pnl.realized == D("22.5")
    assert pnl.fees == D("0.39")
    assert pnl.net == D("22.11")
    assert pnl.position == D("0.5")
    assert pnl.volume == D(100) + D(110) + D(180)
    assert pnl.unrealized(D(100)) == D("-2.5")
    assert (pnl.wins, pnl.closes) == (1, 1)  # the sell realized 22.5, more than its fee 0.18
    assert pnl.win_rate == 1.0


def test_short_then_flip_long() -> None:
    pnl = PnL()
    pnl.add(Side.SELL, D(200), D(2), D(0))
    assert pnl.position == D(-2)
    assert pnl.average_cost == D(200)
    realized = pnl.add(Side.BUY, D(210), D(3), D(0))  # covers 2 at a loss of 10 each, then long 1 at 210
    assert realized == D(-20)
    assert pnl.position == D(1)
    assert pnl.average_cost == D(210)
    assert (pnl.wins, pnl.closes) == (0, 1)


def test_flat_resets_average_cost() -> None:
    pnl = from_fills([(Side.BUY, D(100), D(1), D(0)), (Side.SELL, D(90), D(1), D(0))])
    assert pnl.position == 0
    assert pnl.average_cost == 0
    assert pnl.realized == D(-10)
    assert pnl.cost == 0


def test_a_close_that_earns_less_than_its_fee_is_no_win() -> None:
    # The win rate counts round trips net of the closing fill's fee: +0.5 realized, 0.6 paid.
    pnl = from_fills([(Side.BUY, D(100), D(1), D(0)), (Side.SELL, D("100.5"), D(1), D("0.6"))])
    assert pnl.realized == D("0.5")
    assert (pnl.wins, pnl.closes) == (0, 1)
    assert pnl.win_rate == 0.0
    assert PnL().win_rate is None  # nothing closed: no rate


def test_a_flip_weighs_only_the_closing_part_of_its_fee() -> None:
    # Long 1 at 100; sell 4 at 101 (fee 2): 1 closes (+1 realized, its share of the fee 2 x 1/4 =
    # 0.5: a win), 3 open a short at 101.
    pnl = from_fills([(Side.BUY, D(100), D(1), D(0)), (Side.SELL, D(101), D(4), D(2))])
    assert pnl.realized == D(1)
    assert (pnl.position, pnl.average_cost) == (D(-3), D(101))
    assert (pnl.wins, pnl.closes) == (1, 1)
    # The same flip with a fee of 4: the closing part's share is 1, not more than the 1 realized.
    assert from_fills([(Side.BUY, D(100), D(1), D(0)), (Side.SELL, D(101), D(4), D(4))]).wins == 0


def test_a_non_terminating_average_loses_nothing() -> None:
    # Buy 1 at 100 and 2 at 101: cost 302 for 3, an average of 100.666... that no decimal holds.
    pnl = from_fills([(Side.BUY, D(100), D(1), D(0)), (Side.BUY, D(101), D(2), D(0))])
    assert pnl.cost == D(302)
    # Selling 1 at 102 takes a third of the cost, 100.666...67 rounded to the 1e-20 quantum ...
    third = D("100.66666666666666666667")
    assert third.as_tuple().exponent == SPLIT_QUANTUM.as_tuple().exponent
    assert pnl.add(Side.SELL, D(102), D(1), D(0)) == D(102) - third
    assert pnl.cost == D(302) - third  # ... and the rest of the cost stays with the 2 held
    assert pnl.unrealized(D(102)) == 2 * D(102) - (D(302) - third)
    # Realized plus unrealized is what the fills' cash and the position at the mark are worth, to
    # the digit: -100 - 202 + 102 + 2 x 102 = 4.
    assert pnl.realized + pnl.unrealized(D(102)) == 4
    pnl.add(Side.SELL, D(102), D(2), D(0))  # the rest closes against the cost left, exactly
    assert (pnl.position, pnl.cost, pnl.realized) == (0, 0, 4)
