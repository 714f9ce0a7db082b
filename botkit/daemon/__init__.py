"""The long-lived bot: the scheduler's loop around the engine, the circuit breaker that backs off
a failing exchange, and the Prometheus metrics that watch it."""
