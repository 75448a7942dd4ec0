"""Peak memory of annotating many photos, from a folder or as one page request.

    python bench/memory.py --model-dir MODEL {folder,page} N

Writes N copies of matplotlib's sample portrait scaled to 8 megapixels
(3264x2448, one face) into a temporary folder, then annotates them as
`run_predict.py --image FOLDER` does (photo.annotate_photos) or as one press
of the page's button does (app.App.answer), with the Haar detector, and
prints the process's peak resident memory (ru_maxrss). Run it with N = 1
to see what one photo takes.
"""

import argparse
import os
import resource
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model-dir', required=True)
    p.add_argument('mode', choices=['folder', 'page'])
    p.add_argument('n', type=int)
    args = p.parse_args()
    import cv2
    from matplotlib import cbook
    from facial_keypoints.runs.cli import import_tensorflow_quietly
    import_tensorflow_quietly()
    from facial_keypoints.faces import photo
    from facial_keypoints.serving.app import App
    with tempfile.TemporaryDirectory() as work:
        img = cv2.resize(cv2.imread(cbook.get_sample_data('grace_hopper.jpg', asfileobj=False)),
                         (3264, 2448))
        paths = [os.path.join(work, 'p{:03}.jpg'.format(i)) for i in range(args.n)]
        for path in paths:
            cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        del img
        if args.mode == 'folder':
            photo.annotate_photos([work], args.model_dir, os.path.join(work, 'out') + os.sep,
                                  'haar', log=lambda *a: None)
        else:
            app = App(args.model_dir, 'haar')
            print(app.answer(paths, None)[0].splitlines()[0])
            app.close()
    print('{} {} photos of 8 megapixels: peak RSS {:.0f} MB'.format(
        args.mode, args.n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == '__main__':
    main()
