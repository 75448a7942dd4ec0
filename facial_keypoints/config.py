"""One training run's settings, with each recipe's defaults in one place.

The command line and Python get the same run from the same settings:
TrainConfig(recipe='improved') is `python run_train.py --recipe improved`.
A setting left out (None) is taken from the run being resumed (--resume),
else from the recipe's defaults below. Saved as hparams.json beside the
checkpoints.
"""

import dataclasses
import math

from . import constants, modeldir
from .errors import UserError

RECIPES = ('blog', 'improved')

DEFAULTS = {
    # The post's constants (constants.py).
    'blog': dict(epochs=constants.EPOCHS, batch_size=constants.BATCH_SIZE,
                 validation_size=constants.VALIDATION_SIZE,
                 patience=constants.EARLY_STOP_PATIENCE,
                 learning_rate=constants.LEARNING_RATE, keep_prob=constants.TRAIN_KEEP_PROB),
    # Not in the post (improved.py). Validation is a fifth of the rows in whole
    # near-duplicate groups, so validation_size does not apply.
    'improved': dict(epochs=100, batch_size=64, validation_size=None, patience=40,
                     learning_rate=1e-3, keep_prob=1.0),
}
# The settings that describe a run (saved, and taken back on --resume).
SETTINGS = ('data_dir', 'recipe', 'epochs', 'batch_size', 'validation_size', 'patience',
            'learning_rate', 'keep_prob', 'seed', 'bf16', 'all_rows')
MAX_SEED = 2 ** 31 - 1


@dataclasses.dataclass
class TrainConfig:
    data_dir: str = None            # default '.'
    model_dir: str = constants.SAVE_PATH
    recipe: str = None              # default 'blog': the post
    epochs: int = None
    batch_size: int = None
    validation_size: int = None
    patience: int = None
    learning_rate: float = None
    keep_prob: float = None
    seed: int = None                # default: a random one, recorded in hparams.json
    bf16: bool = None               # default False: float32, the post's arithmetic
    all_rows: bool = None           # improved recipe: its validation groups train too
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self):
        self.given = {k for k in SETTINGS if getattr(self, k) is not None}
        saved = modeldir.read_hparams(self.model_dir) if self.resume else {}
        for k in SETTINGS:
            if getattr(self, k) is None and k in saved:
                setattr(self, k, saved[k])
        source = ' (from {}/{})'.format(self.model_dir, modeldir.HPARAMS_FILE) if saved else ''
        if self.recipe is None:
            self.recipe = 'blog'
        if self.recipe not in DEFAULTS:
            raise UserError('unknown recipe {!r}{}; choose from {}.'.format(
                self.recipe, source, ', '.join(RECIPES)))
        if self.recipe == 'improved' and 'validation_size' in self.given:
            raise UserError('--validation-size applies to the blog recipe; the improved '
                            'recipe validates on a fifth of the rows, in whole groups.')
        for k, v in DEFAULTS[self.recipe].items():
            if getattr(self, k) is None:
                setattr(self, k, v)
        self.data_dir = '.' if self.data_dir is None else self.data_dir
        self.bf16 = bool(self.bf16)
        self.all_rows = bool(self.all_rows)
        if self.all_rows and self.recipe != 'improved':
            raise UserError('--all-rows applies to the improved recipe; the blog recipe '
                            'always validates on its first --validation-size rows.')
        if self.all_rows and 'patience' in self.given:
            raise UserError('--patience does nothing with --all-rows, which keeps every '
                            'epoch\'s model and stops only after --epochs.')
        self._check(source)

    def _check(self, source):
        def need(ok, name, what):
            if not ok:
                raise UserError('--{} is {!r}{}; it must be {}.'.format(
                    name.replace('_', '-'), getattr(self, name),
                    '' if name in self.given else source, what))
        for name in ('epochs', 'batch_size', 'patience'):
            need(type(getattr(self, name)) is int and getattr(self, name) >= 1, name,
                 'a whole number of at least 1')
        if self.validation_size is not None:
            need(type(self.validation_size) is int and self.validation_size >= 1,
                 'validation_size', 'a whole number of at least 1')
        need(isinstance(self.learning_rate, (int, float)) and math.isfinite(self.learning_rate)
             and self.learning_rate > 0, 'learning_rate', 'a positive number')
        need(isinstance(self.keep_prob, (int, float)) and 0 < self.keep_prob <= 1,
             'keep_prob', 'more than 0 and at most 1')
        if self.seed is not None:
            need(type(self.seed) is int and 0 <= self.seed <= MAX_SEED, 'seed',
                 'a whole number from 0 to {}'.format(MAX_SEED))

    def hparams(self):
        """The settings as saved in hparams.json."""
        return {k: getattr(self, k) for k in SETTINGS}
