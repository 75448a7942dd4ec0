"""The run machinery both training loops share: settings, the model folder,
--resume, history, Ctrl-C, results, errors, and what the run scripts call."""
