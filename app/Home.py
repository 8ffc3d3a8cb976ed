"""诚信 chengxin dashboard: `chengxin app` starts it (streamlit run on this file).

The entry page sets up the session, shows the pages the signed-in role may open and the
sidebar (language, sign-in); each page lays out what the read model (`chengxin.readmodel`) returns.
"""

from chengxin import ui

ui.setup()
page = ui.navigation()
ui.sidebar()
page.run()
