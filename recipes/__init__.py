"""Training recipes: datasets, tf.data pipelines, the supervised and semi-supervised recipes,
MLflow tracking and comparison reports (issues 3-5). Depends on `zoo`, never the reverse."""
