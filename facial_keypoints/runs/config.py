"""One training run's settings, with each recipe's defaults in one place.

The command line and Python get the same run from the same settings:
TrainConfig.for_run(recipe='improved') is `python run_train.py --recipe
improved`. A setting left out (None) is taken from the run being resumed
(--resume: for_run reads its hparams.json), else from the recipe's defaults:
the post's (constants.py) or the improved recipe's (improved/settings.py).
Saved as hparams.json beside the checkpoints.
"""

import dataclasses
import json
import math
import os

import numpy as np

from .. import constants
from ..improved import settings as imp
from ..improved.settings import Options
from . import jsonfiles, modeldir
from .errors import UserError

RECIPES = ('blog', 'improved', 'compact')

DEFAULTS = {
    'blog': dict(epochs=constants.EPOCHS, batch_size=constants.BATCH_SIZE,
                 validation_size=constants.VALIDATION_SIZE,
                 patience=constants.EARLY_STOP_PATIENCE,
                 learning_rate=constants.LEARNING_RATE, keep_prob=constants.TRAIN_KEEP_PROB),
    # Validation is a fifth of the rows in whole near-duplicate groups, so
    # validation_size does not apply.
    'improved': dict(epochs=imp.EPOCHS, batch_size=imp.BATCH_SIZE, validation_size=None,
                     patience=imp.PATIENCE, learning_rate=imp.LEARNING_RATE,
                     keep_prob=imp.KEEP_PROB),
}
# The settings that describe a run (saved, and taken back on --resume), and
# those of them a resumed run may change; any other given again must match.
SETTINGS = ('data_dir', 'recipe', 'epochs', 'batch_size', 'validation_size', 'patience',
            'learning_rate', 'keep_prob', 'seed', 'bf16', 'all_rows', 'options')
CHANGEABLE_ON_RESUME = ('data_dir', 'epochs', 'patience', 'bf16')
MAX_SEED = 2 ** 31 - 1
# Parts that only bench/ablations.py varies; released versions saved them in
# hparams.json at these values.
RETIRED = {'rotation': 0.0, 'zoom': 0.0, 'wing': False}
# Parts added to the recipe later: a run that saved none of them trained
# without (and, before heat maps, with a dense layer of 512 units).
ADDED_LATER = {'turns': False, 'weight_average': False, 'weight_decay': 0.0,
               'map_prior': False, 'fc_units': 512, 'heat_map_size': 24, 'separable': False}


def unalias(recipe, options):
    """(recipe, options): 'compact' is the improved recipe with the compact
    network (improved/settings.py, COMPACT), and is saved as such."""
    return ('improved', options or imp.COMPACT) if recipe == 'compact' else (recipe, options)


@dataclasses.dataclass
class TrainConfig:
    data_dir: str = None            # default constants.DATA_DIR
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
    options: Options = None         # improved recipe: its parts (default: Options())
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False
    # The training state (weights and Adam's slots: 97 MB for the post's
    # network) is saved after an epoch once this long has passed since the
    # last time, and when the run ends; --resume continues from it.
    state_every_seconds: float = 60
    # What the run trains on ({file, rows, sha256} of the arrays read), set
    # once the data is read (state.TrainingState.check_data); --resume checks it.
    data_fingerprint: dict = dataclasses.field(default=None, repr=False)
    # With resume: the settings of the run to resume, as for_run() read them.
    saved: dict = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def for_run(cls, **settings):
        """TrainConfig(**settings) for a run; with resume=True, the run's saved
        settings (model_dir's hparams.json, read here) fill in those left out,
        and those given must match them (but CHANGEABLE_ON_RESUME)."""
        settings['recipe'], settings['options'] = unalias(settings.get('recipe'),
                                                          settings.get('options'))
        if settings.get('resume'):
            given = {k: v for k, v in settings.items() if k in SETTINGS and v is not None}
            settings['saved'] = saved_settings(settings.get('model_dir', constants.SAVE_PATH),
                                               given)
        return cls(**settings)

    def __post_init__(self):
        """The recipe's defaults for the settings left out, the checks, and a
        seed if none was given; reads no file."""
        if self.resume and self.saved is None:
            raise ValueError('a resumed run takes its saved settings: make its TrainConfig '
                             'with TrainConfig.for_run(resume=True, ...)')
        self.recipe, self.options = unalias(self.recipe, self.options)
        self.given = {k for k in SETTINGS if getattr(self, k) is not None}
        saved = self.saved if self.resume else {}
        for k in SETTINGS:
            if getattr(self, k) is None and k in saved:
                setattr(self, k, saved[k])
        source = ' (from {}/{})'.format(self.model_dir, modeldir.HPARAMS_FILE) if saved else ''
        if self.recipe is None:
            self.recipe = 'blog'
        if self.recipe not in DEFAULTS:
            raise UserError('unknown recipe {!r}{}; choose from {}.'.format(
                self.recipe, source, ', '.join(RECIPES)))
        self._refuse_what_the_recipe_does_not_use()
        for k, v in DEFAULTS[self.recipe].items():
            if getattr(self, k) is None:
                setattr(self, k, v)
        if self.recipe == 'improved' and self.options is None:
            self.options = Options()
        self.data_dir = constants.DATA_DIR if self.data_dir is None else self.data_dir
        self.bf16 = bool(self.bf16)
        self.all_rows = bool(self.all_rows)
        if self.seed is None:
            self.seed = int(np.random.SeedSequence().generate_state(1)[0] % (MAX_SEED + 1))
        self._check(source)

    def _refuse_what_the_recipe_does_not_use(self):
        if self.recipe == 'improved' and 'validation_size' in self.given:
            raise UserError('--validation-size applies to the blog recipe; the improved '
                            'recipe validates on a fifth of the rows, in whole groups.')
        if self.all_rows and self.recipe != 'improved':
            raise UserError('--all-rows applies to the improved recipe; the blog recipe '
                            'always validates on its first --validation-size rows.')
        if self.all_rows and 'patience' in self.given:
            raise UserError('--patience does nothing with --all-rows, which keeps every '
                            'epoch\'s model and stops only after --epochs.')
        if self.options is not None and self.recipe != 'improved':
            raise UserError('options apply to the improved recipe.')

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
        need(type(self.seed) is int and 0 <= self.seed <= MAX_SEED, 'seed',
             'a whole number from 0 to {}'.format(MAX_SEED))

    def fixed_settings(self):
        """The settings a resumed run may not change, flat and as JSON keeps
        them ({'learning_rate': 0.001, 'improved.turns': True, ...}): saved
        with the training state, so that a hand-edited hparams.json shows."""
        saved = json.loads(json.dumps(self.hparams()))
        flat = {k: v for k, v in saved.items() if k in SETTINGS and k not in CHANGEABLE_ON_RESUME}
        flat.update(('improved.' + k, v) for k, v in (saved.get('improved') or {}).items())
        return flat

    def refuse_edited_settings(self, kept, path):
        """A UserError naming the first setting (recipe first) whose value in
        hparams.json, now self's, differs from kept, the fixed_settings()
        saved in the JSON file path when the run trained."""
        now = self.fixed_settings()
        for key in sorted(set(now) | set(kept), key=lambda k: (k != 'recipe', k)):
            if now.get(key) != kept.get(key):
                raise UserError('--resume: {} has {} {}, but {} was saved by a run with {} {}; '
                                'a resumed run keeps its settings (put {} back, or start a new '
                                'run).'.format(os.path.join(self.model_dir, modeldir.HPARAMS_FILE),
                                               key, json.dumps(now.get(key)), path, key,
                                               json.dumps(kept.get(key)), key))

    def hparams(self):
        """The settings as saved in hparams.json (Options under "improved")."""
        saved = {k: getattr(self, k) for k in SETTINGS if k != 'options'}
        if self.options is not None:
            saved['improved'] = dataclasses.asdict(self.options)
        if self.data_fingerprint:
            saved['data'] = self.data_fingerprint
        return saved


def saved_settings(model_dir, given):
    """The settings of the run in model_dir to resume (its hparams.json),
    checked against those given ({name: value})."""
    modeldir.refuse_file(model_dir)
    saved = jsonfiles.read_hparams(model_dir)
    path = os.path.join(model_dir, modeldir.HPARAMS_FILE)
    if not saved:
        raise UserError('--resume: {} holds no run to resume (no {}).'.format(
            model_dir, modeldir.HPARAMS_FILE))
    if type(saved.get('seed')) is not int:
        raise UserError('{} has no valid "seed"; it was edited or damaged.'.format(path))
    if 'improved' in saved:
        saved['options'] = saved_options(saved['improved'], path)
    for key in sorted(set(given) - set(CHANGEABLE_ON_RESUME)):
        if key in saved and saved[key] != given[key]:
            flag = '--' + key.replace('_', '-')
            how = 'with ' + flag if saved[key] is True else 'without ' + flag \
                if saved[key] is False else 'with {}'.format(saved[key]) \
                if key == 'options' else 'with {} {}'.format(flag, saved[key])
            raise UserError('--resume: {} was trained {}; a resumed run keeps it (start '
                            'a new run to change it).'.format(model_dir, how))
    return saved


def saved_options(saved, path):
    """The Options saved in hparams.json at path (its "improved" object). Each
    value must have its default's type and be one Options accepts. A part a
    run did not save is the recipe's, or as it was before that part came
    (ADDED_LATER)."""
    if not isinstance(saved, dict):
        raise UserError('{} has no valid "improved" settings; it was edited or '
                        'damaged.'.format(path))
    defaults = dataclasses.asdict(Options())
    options = dict(ADDED_LATER)
    for k, v in saved.items():
        v = tuple(v) if isinstance(v, list) else v
        if k in RETIRED and v == RETIRED[k]:
            continue
        if k == 'weight_decay' and type(v) in (bool, int):  # on or off before; or written as 1
            v = float(v) if type(v) is int else imp.WEIGHT_DECAY if v else 0.0
        ok = k in defaults and type(v) is type(defaults[k])
        if ok:
            try:
                Options(**{k: v})
            except ValueError:          # the right type, but a value no run can train with
                ok = False
        if not ok:
            raise UserError('{} has no valid "improved" setting {!r}; it was edited or '
                            'damaged.'.format(path, k))
        options[k] = v
    return Options(**options)
