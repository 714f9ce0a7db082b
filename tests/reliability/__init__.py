"""The reliability suite (issue 6): crash, fault, bad-input and soak scenarios with figures."""
