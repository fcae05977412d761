"""Alert delivery adapters. Issue 4 grows this into one registry of channels."""
