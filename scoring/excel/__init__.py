"""Excel in and out: cell writing, the upload guard, the score-sheet template both ways,
exports and the monthly workbook. Import from the modules; nothing is re-exported here."""
