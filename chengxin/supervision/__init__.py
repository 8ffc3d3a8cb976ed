"""Risk-classified supervision (信用风险分类管理 with 双随机、一公开 random inspections).

- `classes`: every live enterprise's monthly risk class A–D with its reasons (declared in
  ``chengxin/conf/supervision.yaml``), stored for the roles with the `supervision` right;
- `draw`: the month's inspections, drawn class by class at the declared ratios from a published
  seed, with two inspectors from the department's roster;
- `backtest`: classify → plan → inspect → ingest, month by month on a generated city, for each
  strategy on the same budget, measured against the violations the city hides.
"""
