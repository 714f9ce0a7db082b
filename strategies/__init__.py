"""botkit's shipped example strategies (also registered under the ``botkit.strategies`` entry points)."""
