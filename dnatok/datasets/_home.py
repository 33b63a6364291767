"""Where downloaded datasets are cached on disk.

Modelled on :func:`sklearn.datasets.get_data_home`: one folder per user, shared by
every fetcher, so a dataset is downloaded once and read from disk afterwards.
"""

import os
import shutil

__all__ = ["get_data_home", "clear_data_home", "DATA_HOME_ENV"]

#: Environment variable that moves the default cache folder.
DATA_HOME_ENV = "DNATOK_DATA"
_DEFAULT_DATA_HOME = os.path.join("~", "dnatok_data")


def get_data_home(data_home=None):
    """Return the path of the dnatok data folder, creating it if needed.

    Fetchers such as :func:`fetch_genomic_benchmark` cache their downloads here so
    that each dataset is downloaded only once.

    By default the folder is ``~/dnatok_data``. The ``DNATOK_DATA`` environment
    variable changes the default, and ``data_home`` overrides both. A leading
    ``~`` is expanded to the user's home folder.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data folder. If None, use ``$DNATOK_DATA`` if it is set, else
        ``~/dnatok_data``.

    Returns
    -------
    data_home : str
        Absolute path of the data folder, which exists on return.

    Examples
    --------
    >>> import os, tempfile
    >>> from dnatok.datasets import get_data_home
    >>> folder = get_data_home(os.path.join(tempfile.mkdtemp(), "cache"))
    >>> os.path.isdir(folder)
    True
    """
    if data_home is None:
        data_home = os.environ.get(DATA_HOME_ENV) or _DEFAULT_DATA_HOME
    data_home = os.path.abspath(os.path.expanduser(os.fspath(data_home)))
    os.makedirs(data_home, exist_ok=True)
    return data_home


def clear_data_home(data_home=None):
    """Delete the dnatok data folder and everything cached in it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The data folder, resolved as in :func:`get_data_home`.

    Examples
    --------
    >>> import os, tempfile
    >>> from dnatok.datasets import clear_data_home, get_data_home
    >>> folder = get_data_home(os.path.join(tempfile.mkdtemp(), "cache"))
    >>> clear_data_home(folder)
    >>> os.path.exists(folder)
    False
    """
    shutil.rmtree(get_data_home(data_home))
