"""What strategies are given beyond one snapshot: bars of declared timeframes and their history."""
