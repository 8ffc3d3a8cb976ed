"""Write the notebooks from their cells here (so they stay short and reviewable as code), then
execute them in place: `python notebooks/build.py`. The test suite re-executes them with nbmake."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent
SETUP = """import os, tempfile, warnings
warnings.filterwarnings("ignore")
os.environ["CHENGXIN_HOME"] = tempfile.mkdtemp(prefix="chengxin-nb-")
from pathlib import Path
home = Path(os.environ["CHENGXIN_HOME"])"""

NOTEBOOKS = {
    "01_indicators.ipynb": [
        ("md", "# Indicators, point in time\n\nA small generated city, ingested; then every indicator as the office "
               "knew it on one date. All logic lives in the `chengxin` package: this notebook only calls it."),
        ("code", SETUP),
        ("code", "from chengxin.city import generate\nfrom chengxin.pipelines.ingest import ingest\n"
                 "summary = generate(home / 'city', enterprises=600, individuals=900, months=24, seed=7)\n"
                 "{k: summary[k] for k in ('records', 'yearly_outcome_rate', 'true_pd_auc_12m')}"),
        ("code", "result = ingest(home / 'city')\n{k: getattr(result, k) for k in ('files', 'rows', 'accepted', 'rejected', 'duplicates')}"),
        ("md", "The catalogue: every indicator is a declaration with its direction of risk and whether the subject can change it."),
        ("code", "import pandas as pd\nfrom chengxin.features.catalogue import rows\n"
                 "pd.DataFrame(rows())[['name', 'zh', 'subject', 'source', 'window_months', 'direction', 'mutable']].head(12)"),
        ("code", "import datetime as dt\nfrom chengxin.features import compute\n"
                 "features = compute(dt.date(2024, 9, 30), 'enterprise')\nfeatures.shape"),
        ("md", "Missing is not zero: where a department has not uploaded for a county, the indicator is empty and "
               "the coverage column says so."),
        ("code", "cols = ['tax_arrears_months_12m', 'penalties_general_public', 'env_credit_colour', 'coverage_penalty_12m']\n"
                 "features[cols].describe().T[['count', 'mean', 'max']]"),
    ],
    "02_rating_model.ipynb": [
        ("md", "# The rating models\n\nTrain the published scorecard and the boosted model out of time, "
               "then look at the criteria they produce and the ratings."),
        ("code", SETUP),
        ("code", "from chengxin.city import generate\nfrom chengxin.pipelines.ingest import ingest\n"
                 "generate(home / 'city', enterprises=1500, individuals=1500, months=30, seed=17)\n"
                 "ingest(home / 'city').accepted"),
        ("code", "from chengxin.pipelines.train import train\nresult = train('enterprise')\n"
                 "import pandas as pd\npd.DataFrame(result['models']).T[['version', 'auc', 'ks', 'brier', 'psi_dev_oot', 'grades_within_interval']]"),
        ("md", "The scorecard's points per bin: what the office publishes."),
        ("code", "from chengxin.models.registered import load, scorecard_of\ncard = scorecard_of(load('enterprise', 'scorecard')[0])\n"
                 "card.table()[['indicator', 'bin', 'Count', 'Event rate', 'points']].head(12)"),
        ("md", "How the indicators were chosen: an information value of at least `min_iv`, bins that hold from the "
               "fitting window to the calibration window (PSI at most `max_psi`), weights that agree with the bins; "
               "the regularisation C by cross-validation over the fitting subjects."),
        ("code", "{'C': card.C, 'max_psi': card.max_psi, 'dropped as unstable': card.dropped_for_stability_,\n"
                 " 'dropped for sign': card.dropped_for_sign_}"),
        ("code", "pd.Series(card.stability_, name='psi').sort_values(ascending=False).head(6)"),
        ("code", "import datetime as dt\nfrom chengxin.pipelines.score import score\n"
                 "rated = score(dt.date(2025, 3, 31), 'enterprise')\n{k: rated[k] for k in ('rated', 'grades', 'tiers')}"),
    ],
    "03_explanations_and_warnings.ipynb": [
        ("md", "# Why a rating, what would repair it, and what is going wrong\n\nExplanations add up exactly to each "
               "model's output; the repair path uses only the declared credit-repair actions; the early-warning alerts "
               "combine declared rules, model movements and anomalies."),
        ("code", SETUP),
        ("code", "from chengxin.city import generate\nfrom chengxin.pipelines.ingest import ingest\nfrom chengxin.pipelines.train import train\n"
                 "generate(home / 'city', enterprises=1500, individuals=1500, months=30, seed=17)\n"
                 "ingest(home / 'city')\nfor s in ('enterprise', 'individual'):\n    train(s)"),
        ("md", "Pick the riskiest enterprise on a date and explain it."),
        ("code", "import datetime as dt\nfrom chengxin.pipelines import score\nfrom chengxin.pipelines import explain as explanation\nday = dt.date(2025, 3, 31)\n"
                 "rated = score.score(day, 'enterprise')\nimport pandas as pd\nratings = pd.read_parquet(rated['stored'])\n"
                 "pick = ratings[ratings['grade'] != 'D'].sort_values('pd').iloc[-1]['subject_id']\n"
                 "e = explanation.explain(pick, day)\n{k: e[k] for k in ('grade', 'tier', 'pd', 'score', 'reasons')}"),
        ("md", "Contributions: scorecard points against the neutral point, and TreeSHAP log-odds; each adds up to its model's output."),
        ("code", "for name, m in e['models'].items():\n"
                 "    top = sorted(m['contributions'].items(), key=lambda kv: kv[1])[:3]\n"
                 "    print(name, 'base', round(m['base_value'], 3), '+ contributions =', round(m['base_value'] + sum(m['contributions'].values()), 3),\n"
                 "          'output', round(m['raw_output'], 3), '| most adverse:', [(k, round(v, 2)) for k, v in top])"),
        ("code", "pd.DataFrame(e['repair_path'])[['text_en', 'months', 'grade', 'pd']] if e['repair_path'] else 'no action in reach'"),
        ("md", "The month's early-warning alerts and the portfolio views."),
        ("code", "from chengxin.pipelines import warn\nresult = warn.warn(day)\n{k: result[k] for k in ('alerts', 'by_severity', 'by_signal')}"),
        ("code", "from chengxin import readmodel\nreadmodel.alerts(as_of=str(day))[['subject_id', 'severity', 'signals', 'reasons']].head(8)"),
    ],
}


def build(name: str, cells) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
                for kind, src in cells]
    NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    path = HERE / name
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    for name, cells in NOTEBOOKS.items():
        print("executed", build(name, cells))
