"""The improved recipe's settings (--recipe improved), every number it chooses, in
one block. Not in the post (whose numbers are in constants.py). No TensorFlow here.

The few numbers that live elsewhere are no choice of the recipe: batch norm's
epsilon 1e-3 (TensorFlow's default, against division by zero) and the mean
face's 0.5 until the training set's is set (the image's centre) in
improved/model.py; the thumbnails' 1e-6 (against division by zero) and 12345
(keeps the split's random stream apart from the run's) in improved/splits.py.

TrainConfig (runs/config.py) takes its defaults for the recipe from the training
loop's lines; the network, augmentation and validation read theirs from
here. A run saves its settings in hparams.json: TrainConfig's, and Options,
the parts that can be switched or resized (bench/ablations.py varies them).
"""

import dataclasses

from ..constants import IMAGE_SIZE

# The training loop (improved/train.py): TrainConfig's defaults for the recipe.
EPOCHS = 100
BATCH_SIZE = 64                 # an epoch's batches are split evenly, none smaller by more than 1
PATIENCE = 40                   # epochs without a better validation before stopping
LEARNING_RATE = 1e-3            # Adam's, at the start of the cosine decay
FINAL_RATE_FRACTION = 0.01      # the cosine decay ends at 1% of the starting rate
KEEP_PROB = 1.0                 # no dropout

# Validation (improved/splits.py): whole groups of near-identical frames are held out.
VALIDATION_FRACTION = 0.2
VALIDATION_SEED = 1             # the same held-out groups for every run on the same data
THUMBNAIL_SIZE = 24             # frames are compared as 24x24 thumbnails (means of 4x4 pixels)
LINK_DISTANCE = 0.5             # and linked into one group when closer than this (RMS, in
                                # standard deviations of each thumbnail's pixels)

# The network (improved/model.py).
INPUT_CENTRE = 0.5              # subtracted from pixels / 255: inputs around 0
CHANNELS = (32, 64, 128, 256, 512, 512)     # six 3x3 convolutions, 2x2 pooling after each
FC_UNITS = 0                    # no dense layer: keypoints are read from heat maps
OUTPUT_STDDEV = 1e-3            # a dense layer's output weights start small: at the mean face
HEAT_MAP_SIZE = 24              # cells a side of each keypoint's heat map (4 pixels a cell)
HEAT_MAP_SIZES = tuple(IMAGE_SIZE >> n for n in range(6))   # a stage's: 96, 48, ..., 3
HEAT_MAP_WIDTH = 64             # channels of the feature pyramid that draws them
FULL_WIDTH_CELLS = 24           # a finer level has half the channels per doubling, so that
                                # its 3x3 convolution costs no more than the 24-cell level's
MEMBERS = 2                     # networks trained side by side, their answers averaged
BATCH_NORM_DECAY = 0.9          # moving averages' weight on their old value, per batch

# Augmentation (improved/augment.py), drawn anew for every batch and member.
FLIP_PROBABILITY = 0.5          # of mirroring a face
MAX_SHIFT = 3                   # pixels, each way; faces15/Kaggle faces sit near one framing
CONTRAST = (0.8, 1.2)           # factor on each face's pixels around its mean
BRIGHTNESS = (-0.1, 0.1)        # added to each face's pixels (in [0, 1] units)
TURN_PROBABILITY = 0.5          # of turning a face (Options.turns): the rest stay upright
MAX_TURN = 20.0                 # degrees, either way, drawn uniformly

# Weight decay (Options.weight_decay), decoupled from Adam's step: after each
# step every weight matrix shrinks by learning rate x this fraction.
WEIGHT_DECAY = 0.5
MAX_WEIGHT_DECAY = 1000         # at a rate of 1e-3, more would flip the weights' signs

# The heat maps' prior (Options.map_prior): each map's softmax is also pulled
# towards a Gaussian around its target keypoint (a Jensen-Shannon divergence,
# as in DSNT), so a map keeps one peak where the keypoint is rather than any
# spread whose mean lands there.
MAP_PRIOR_SIGMA = 1.0           # the Gaussian's standard deviation, in cells (4 pixels at 24)
MAP_PRIOR_WEIGHT = 1.0          # the divergence's weight beside the RMSE ([0, 1] units)

# Weight averaging (improved/train.py, Options.weight_average): validation and the
# model kept use an exponential moving average of the weights.
WEIGHT_AVERAGE_DECAY = 0.998    # per batch: about 500 batches, 12 epochs of faces15


@dataclasses.dataclass(frozen=True)
class Options:
    """The parts of the recipe that can each be changed on its own (saved in
    hparams.json under "improved"; a resumed run keeps its own)."""
    flips: bool = True              # mirror faces at random (FLIP_PROBABILITY)
    shifts: bool = True             # move faces by up to MAX_SHIFT pixels
    lighting: bool = True           # vary contrast and brightness
    turns: bool = True              # turn faces (TURN_PROBABILITY, MAX_TURN)
    weight_average: bool = False    # validate and keep the weights' moving average
    weight_decay: float = WEIGHT_DECAY  # weight matrices shrink by rate x this a step (0: off)
    map_prior: bool = False         # pull heat maps towards a Gaussian (MAP_PRIOR_SIGMA, _WEIGHT)
    label_offset: bool = True       # learn the labels' x offset (improved_model.loss)
    centring: bool = True           # a dense layer starts from the training set's mean face
    cosine: bool = True             # cosine learning-rate decay (else constant)
    channels: tuple = CHANNELS
    fc_units: int = FC_UNITS        # 0: heat maps; else a dense layer of that many units
    heat_map_size: int = HEAT_MAP_SIZE  # 24; 48: the 48-pixel stage joins the pyramid
    separable: bool = False         # depthwise-separable 3x3 convolutions (but the first)
    members: int = MEMBERS

    def __post_init__(self):
        decay = self.weight_decay
        # True would train at 1.0, twice the recipe's; hparams.json must hold the number.
        if isinstance(decay, bool) or not isinstance(decay, (int, float)):
            raise ValueError('Options.weight_decay is a strength ({}: the recipe\'s; 0: off), '
                             'not {!r}'.format(WEIGHT_DECAY, decay))
        if not 0 <= decay < MAX_WEIGHT_DECAY:
            raise ValueError('Options.weight_decay must be 0 or more, and under '
                             '{}'.format(MAX_WEIGHT_DECAY))
        if self.heat_map_size not in HEAT_MAP_SIZES:
            raise ValueError('Options.heat_map_size must be one of {}, the sizes of the '
                             'stages\' features'.format(HEAT_MAP_SIZES))
        channels = self.channels
        if not (isinstance(channels, (tuple, list)) and channels and _counts(channels, 1)):
            raise ValueError('Options.channels must be whole numbers of 1 or more, one a '
                             'stage, not {!r}'.format(channels))
        # A list would leave Options unhashable and unequal to the same run loaded again.
        object.__setattr__(self, 'channels', tuple(channels))
        for name, lowest in (('members', 1), ('fc_units', 0)):
            if not _counts([getattr(self, name)], lowest):
                raise ValueError('Options.{} must be a whole number of {} or more, not '
                                 '{!r}'.format(name, lowest, getattr(self, name)))


def _counts(values, lowest):
    """Whether every one of values is an int of lowest or more: not a bool, nor
    numpy's (hparams.json could not hold it)."""
    return all(type(v) is int and v >= lowest for v in values)


# The compact recipe (--recipe compact; the pretrained model's network): the same
# loop, augmentation and heat maps, with one network of a quarter the
# channels' arithmetic: about a sixth of the recipe's time, a 4 MB model.
COMPACT = Options(channels=(16, 32, 64, 128, 256, 256), members=1)
