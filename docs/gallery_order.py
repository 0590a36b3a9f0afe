"""Order of the examples in the gallery (sphinx-gallery ``within_subsection_order``).

The examples listed in ``FIRST`` come first, in that order: the seed scenario
(one multi-task network against one model per task on handwritten digits),
then from the simplest idea to the most involved. Any other example follows,
by file name, so that a new example shows up without editing this list.
"""

FIRST = [
    "plot_digits_multitask.py",
    "plot_compare_single_task.py",
    "plot_grid_search_task_weights.py",
    "plot_weighting_strategies.py",
    "plot_negative_transfer_architectures.py",
    "plot_digits_conv_trunk.py",
]


class ExampleOrder:
    """Sort key: listed examples first, in list order, then the rest by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in FIRST:
            return (0, FIRST.index(filename), filename)
        return (1, 0, filename)

    def __repr__(self):
        # sphinx-gallery compares configurations by repr between builds
        return f"ExampleOrder({FIRST})"
