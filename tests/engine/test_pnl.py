"""Average-cost PnL arithmetic, worked by hand."""

from decimal import Decimal

from botkit.model import Side
from botkit.pnl import PnL, from_fills

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
    assert (pnl.wins, pnl.losses) == (1, 0)


def test_short_then_flip_long() -> None:
    pnl = PnL()
    pnl.add(Side.SELL, D(200), D(2), D(0))
    assert pnl.position == D(-2)
    assert pnl.average_cost == D(200)
    realized = pnl.add(Side.BUY, D(210), D(3), D(0))  # covers 2 at a loss of 10 each, then long 1 at 210
    assert realized == D(-20)
    assert pnl.position == D(1)
    assert pnl.average_cost == D(210)
    assert (pnl.wins, pnl.losses) == (0, 1)


def test_flat_resets_average_cost() -> None:
    pnl = from_fills([(Side.BUY, D(100), D(1), D(0)), (Side.SELL, D(90), D(1), D(0))])
    assert pnl.position == 0
    assert pnl.average_cost == 0
    assert pnl.realized == D(-10)
