"""Articles of the bundled sample news web (besides the two seeds in samples/seeds/).

Each outlet's articles: slug, title, published (ISO), author, paragraphs. Written for claimwire's sample: unrelated
stories, some on the same actors as the seeds (North Korea, Ukraine) so that story grouping meets hard negatives.
"""

CNEWS = [
    ("nk-missile-test-east-sea", "North Korea fires ballistic missile into East Sea, Seoul says",
     "2024-10-31T02:10:00Z", "Min-ji Park", [
         "North Korea fired an intercontinental ballistic missile into the waters off its east coast on Thursday, "
         "South Korea's Joint Chiefs of Staff said, days before the United States presidential election.",
         "The missile flew for about 86 minutes, the longest flight time recorded for a North Korean missile, "
         "according to Japan's defence ministry, and landed outside Japan's exclusive economic zone.",
         "Japanese Defence Minister Gen Nakatani told reporters the launch was a new type of missile. "
         "Washington, Seoul and Tokyo condemned the test as a clear violation of United Nations Security Council "
         "resolutions.",
         "Analysts said the launch was meant to show that Pyongyang's weapons programme was advancing despite "
         "sanctions, and to keep attention on the Korean Peninsula while the war in Ukraine draws it elsewhere.",
     ]),
    ("kyiv-drone-attack-overnight", "Russia launches overnight drone attack on Kyiv, officials say",
     "2024-10-28T06:30:00Z", "Olena Kovalenko", [
         "Russian forces launched dozens of attack drones at Kyiv overnight, damaging residential buildings in "
         "several districts, Ukrainian officials said on Monday.",
         "Ukraine's air force said it shot down 39 of the 62 drones launched at the country overnight, while "
         "others were lost to electronic jamming. Mayor Vitali Klitschko said two people were injured in the "
         "Solomianskyi district.",
         "Falling debris started a fire on the roof of a nine-storey building, the State Emergency Service said. "
         "Firefighters put it out within an hour.",
         "The Kremlin did not comment. Moscow has stepped up drone and missile strikes on Ukrainian cities and "
         "energy infrastructure ahead of winter.",
     ]),
    ("central-bank-holds-rates", "Central bank holds interest rate at 3.5% as inflation cools",
     "2024-10-24T09:00:00Z", "Daniel Osei", [
         "The central bank kept its benchmark interest rate unchanged at 3.5% on Thursday, saying inflation was "
         "cooling faster than expected but that it was too early to cut borrowing costs.",
         "Consumer prices rose 2.1% in September from a year earlier, down from 2.6% in August, the statistics "
         "office said. Governor Amara Mensah said the bank expected inflation to settle near its 2% target next "
         "year.",
         "Economists polled before the decision had expected no change. Markets now price in a cut of 25 basis "
         "points in December.",
     ]),
    ("marathon-record-falls", "Kenyan runner breaks city marathon course record",
     "2024-10-27T14:45:00Z", "Sam Whitfield", [
         "Kenya's Daniel Kiprop won the city marathon on Sunday in 2 hours 4 minutes and 12 seconds, breaking the "
         "course record by almost a minute.",
         "More than 38,000 runners started the race under clear skies, organisers said. Ethiopia's Tigist Bekele "
         "won the women's race.",
         "Kiprop said after the finish that he had trained at altitude for three months. \"I knew the record was "
         "possible if the wind stayed calm,\" he said.",
     ]),
]

TIMES = [
    ("nk-blows-up-inter-korean-roads", "North Korea blows up roads linking it to the South",
     "2024-10-15T05:20:00Z", "Hye-jin Lee", [
         "North Korea blew up sections of the roads and railways that once connected it to South Korea on Tuesday, "
         "South Korea's military said, a symbolic step after Pyongyang declared the South a hostile state.",
         "South Korean troops fired warning shots south of the military demarcation line after the explosions, the "
         "Joint Chiefs of Staff said. No one was hurt on the southern side.",
         "The demolitions came days after North Korea accused Seoul of flying drones over Pyongyang, a charge the "
         "South Korean military declined to confirm. Kim Yo Jong, the sister of leader Kim Jong Un, warned of a "
         "\"horrible disaster\" if it happened again.",
         "Unification ministry officials said the roads had not been used for years and called the move a "
         "regrettable act that turned back inter-Korean agreements.",
     ]),
    ("ukraine-grain-corridor-exports", "Ukraine's Black Sea corridor carries record grain exports",
     "2024-10-22T11:00:00Z", "Taras Melnyk", [
         "Ukraine exported more grain through its Black Sea corridor in October than in any month since the war "
         "began, the agriculture ministry said on Tuesday.",
         "Ports around Odesa shipped about 6.2 million tonnes of grain and oilseeds last month, officials said, "
         "despite repeated Russian strikes on port infrastructure.",
         "Deputy Minister Oleksandr Kubrakov said the corridor had handled more than 2,000 vessels since it opened. "
         "Insurers have cut premiums for ships calling at Ukrainian ports as attacks on merchant vessels fell.",
     ]),
    ("storm-floods-coastal-towns", "Storm floods coastal towns, thousands evacuated",
     "2024-10-26T19:05:00Z", "Maria Santos", [
         "A powerful storm flooded coastal towns on Saturday, forcing about 12,000 people to leave their homes, "
         "the civil protection agency said.",
         "Rainfall of up to 300 millimetres in 24 hours swelled rivers across the region. Emergency crews rescued "
         "dozens of residents from rooftops, and at least 4 people died, officials said.",
         "The national weather service warned that more heavy rain was expected on Sunday and kept its highest "
         "alert level in place for three provinces.",
     ]),
    ("election-turnout-record", "Turnout hits record in regional election",
     "2024-10-20T22:30:00Z", "Jonas Berg", [
         "Voter turnout in Sunday's regional election reached 71.4%, the highest since the region was created, the "
         "electoral commission said.",
         "The governing party won 38% of the vote, according to preliminary results, while the opposition Green "
         "Alliance rose to 24%. Party leader Ingrid Solberg called the result a clear mandate.",
         "Final results are due on Wednesday after postal ballots are counted.",
     ]),
]

WIRE = [
    ("zelensky-appeal-air-defence", "Zelensky appeals to allies for more air defence systems",
     "2024-10-29T16:00:00Z", "Wire staff", [
         "Ukrainian President Volodymyr Zelensky urged Western allies on Tuesday to speed up deliveries of air "
         "defence systems, saying Russia had launched more than 900 glide bombs at Ukraine in the past week.",
         "Speaking in Kyiv alongside visiting Danish Prime Minister Mette Frederiksen, Zelensky said Ukraine needed "
         "at least 25 more Patriot systems to protect its cities and power plants through the winter.",
         "Denmark announced a new package of military aid worth 7.5 billion kroner, including artillery "
         "ammunition and funding for drones made in Ukraine.",
     ]),
    ("chipmaker-profit-jumps", "Chipmaker's quarterly profit jumps on AI demand",
     "2024-10-30T13:15:00Z", "Wire staff", [
         "A leading chipmaker reported a 54% rise in third-quarter net profit on Wednesday, beating analysts' "
         "forecasts as demand for artificial intelligence servers surged.",
         "Revenue rose to $23.5 billion from $17.3 billion a year earlier, the company said. Chief financial "
         "officer Wendell Huang said the firm would raise capital spending to about $30 billion next year.",
         "Shares rose 3% in early trading.",
     ]),
    ("wildfire-contained", "Firefighters contain wildfire after week-long battle",
     "2024-10-25T08:40:00Z", "Wire staff", [
         "Firefighters have contained a wildfire that burned through about 8,500 hectares of forest over the past "
         "week, the regional fire service said on Friday.",
         "More than 600 firefighters and 14 aircraft fought the blaze, which destroyed 27 homes. Fire chief Ana "
         "Ribeiro said investigators believed the fire was started by a power line.",
     ]),
]

OUTLETS = {
    "cnewslive": {"name": "Cnews Live", "domain": "cnewslive.example", "feed": "rss", "articles": CNEWS,
                  "seed": ("000_5ba0a06f1fe7a067.txt", "north-korean-soldiers-deployed-russia",
                           "2024-10-24T08:00:00Z", "Cnews Live Desk")},
    "timeswordle": {"name": "Times Wordle", "domain": "timeswordle.example", "feed": "atom", "articles": TIMES,
                    "seed": ("001_3f3f7251d9f42a2b.txt", "3000-north-korean-troops-sent-russia",
                             "2024-10-24T15:30:00Z", "Times Wordle Staff")},
    "globalwire": {"name": "Global Wire Post", "domain": "globalwirepost.example", "feed": "rss", "articles": WIRE,
                   # the syndicated copy: Cnews Live's seed story, reprinted verbatim under a wire credit
                   "syndicates": ("cnewslive", "000_5ba0a06f1fe7a067.txt", "nk-troops-russia-syndicated",
                                  "2024-10-24T10:15:00Z")},
}
