"""The improved recipe: its settings (every number it uses), network, training
loop, augmentation and validation groups. Not in the post."""
