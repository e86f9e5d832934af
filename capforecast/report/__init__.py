"""Reports: plots, the self-contained HTML report and the Excel workbook."""
