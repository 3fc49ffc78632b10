"""mnist_tasks: 手書き数字認識の演習パッケージ / handwritten-digit recognition exercises.

課題 (tasks) は ``preprocessing``・``models``・``training``・``plots`` の関数です。
``data.load_mnist`` は提供済み (provided) です。自己チェック / self-check::

    pytest autograder/
"""
