"""The shared ground every other part stands on: the error tree (sorted by whether a request had an
effect), exact money and units, bounds on numbers from outside, time formats, JSON with exact
decimals, the guards every server and file uses. Nothing here imports another part of botkit."""
