

def test_finished_orders_beyond_the_history_are_forgotten_open_ones_never() -> None:
    """The exchange's memory stays bounded however long it runs (the soak found it growing)."""
    from decimal import Decimal as D

    from botkit.sandbox import Exchange, SandboxAccount

    exchange = Exchange(order_history=3)
    exchange.add_account(SandboxAccount("k", "s" * 20, {"USD": D(10000), "BTC": D(10)}))
    resting = exchange.submit_order("k", "buy", "limit", D("100.00"), D("0.1"))
    finished = []
    for _ in range(5):
        order_id = exchange.submit_order("k", "sell", "limit", D("500.00"), D("0.1"))
        exchange.cancel_order("k", order_id)
        finished.append(order_id)
    kept = [o.order_id for o in exchange.orders("k")]
    assert kept == [*reversed(finished[2:]), resting]  # newest first; the open one stays
    import pytest

    from botkit.sandbox import ExchangeError

    with pytest.raises(ExchangeError):
        exchange.order("k", finished[0])
