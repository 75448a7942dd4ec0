"""Using a trained model: Predictor (any model folder or export, loaded once),
exports (SavedModel, TFLite) and the web page."""
