"""Starting the dashboard app (Streamlit): where its entry script is and how it is served.
What the pages show is read through the read model (`chengxin.readmodel`)."""

from __future__ import annotations

from pathlib import Path


def app_path() -> Path:
    """The Streamlit entry script, shipped as the package ``chengxin.app`` (``app/`` in a checkout)."""
    from importlib import resources

    try:
        found = Path(str(resources.files("chengxin.app").joinpath("Home.py")))
        if found.exists():
            return found
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[1] / "app" / "Home.py"


def streamlit_flags(port: int = 8501, address: str = "127.0.0.1") -> list[str]:
    """Headless, no usage statistics, this machine only unless told otherwise, no file watching,
    no "magic" (the pages write everything explicitly; magic rewrites each page's code every run)."""
    return ["--server.headless", "true", "--runner.magicEnabled", "false", "--browser.gatherUsageStats", "false",
            "--server.port", str(port), "--server.address", address, "--server.fileWatcherType", "none",
            "--server.runOnSave", "false", "--client.toolbarMode", "minimal", "--theme.primaryColor", "#c62828"]
