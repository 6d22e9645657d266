"""`make bench`: the vault's figures side by side in one run (see vault_bench.py)."""
