"""The sections of the report (analysis/report.py), grouped by topic. Each is a function
section(data, d) of a report_data.ReportData and the report_doc.Doc it writes into, listed once in
report.py's SECTIONS."""
