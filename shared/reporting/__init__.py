"""The read side over money: ``gateway ledger-check``, the settlement and summary reports and
the summary's daily rollup. They read the ledger and the payments and refunds tables, so they
sit above all three (the ledger core below payments and refunds, which post to it)."""
