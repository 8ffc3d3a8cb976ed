"""诚信 chengxin: public credit rating and risk analytics for a city's social credit office."""

import warnings

# pandera imports pyspark.pandas when pyspark is installed (the Spark engine's extra), which
# warns about pandas 3 on every start; nothing of ours uses pyspark.pandas.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
