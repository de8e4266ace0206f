"""The Streamlit app over a lake: `traces dashboard [--lake DIR]` runs this file.

    streamlit run dashboards/app.py      # the lake is $TRACES_LAKE, else ./lake

Each page is one script in dashboards/views/; the pages call `analysis` and `predictors`
through the cached wrappers in dashboards/data.py and only plot what comes back.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

VIEWS = Path(__file__).resolve().parent / "views"
# (file, title, icon); the file name is also the page's URL path (/arrivals, ...).
PAGES = (
    ("overview.py", "Overview", ":material/table_view:"),
    ("arrivals.py", "Arrivals and burstiness", ":material/timeline:"),
    ("tokens.py", "Token lengths", ":material/notes:"),
    ("failures.py", "Failures", ":material/error:"),
    ("coldstarts.py", "Cold starts", ":material/ac_unit:"),
    ("predictors.py", "Predictors", ":material/model_training:"),
    ("compare.py", "Compare traces", ":material/compare_arrows:"),
    ("generate.py", "Generate a workload", ":material/auto_awesome:"),
)

st.set_page_config(page_title="workload-traces", page_icon=":material/monitoring:", layout="wide")
page = st.navigation(
    [
        st.Page(VIEWS / name, title=title, icon=icon, default=i == 0)
        for i, (name, title, icon) in enumerate(PAGES)
    ]
)
page.run()
