"""Name data for the synthetic population, written for this generator.

The lists are ordered by how common each name is in England for the generation that carries it, so
a rank-based weight gives the real skew: a town has many Smiths and many Olivers, which is what
makes "common names in one town" hard for linkage. The diminutive table is the generator's own;
the linkage engine keeps a separate nickname table on purpose, so the synthetic errors test it
rather than echo it.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADULT_FEMALE",
    "ADULT_MALE",
    "CHILD_FEMALE",
    "CHILD_MALE",
    "DIMINUTIVES",
    "ELDER_FEMALE",
    "ELDER_MALE",
    "RARE_SURNAME_HEADS",
    "RARE_SURNAME_TAILS",
    "SURNAMES",
    "TWIN_NAMES_FEMALE",
    "TWIN_NAMES_MALE",
]


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


#: Given names of children born from about 2005, most common first.
CHILD_MALE: Final = _split(
    """Oliver Jack Harry George Noah Charlie Jacob Alfie Freddie Oscar Leo Thomas Archie
    Joshua William James Henry Theo Arthur Logan Ethan Lucas Mason Jayden Riley Isaac Samuel
    Daniel Joseph Max Harrison Tyler Dylan Finley Reuben Toby Ronnie Tommy Teddy Albie
    Frankie Bobby Louie Lewis Callum Connor Kyle Liam Ryan Luke Jake Benjamin Matthew
    Alexander Edward Sebastian Elijah Zachary Nathan Aaron Adam Luca Caleb Rory Jenson Hugo
    Michael David Ellis Kai Harvey Jude Ezra Stanley Albert Frederick Elliot Cameron Bradley
    Declan Aiden Brandon Kian Owen Rhys Ashton Tobias Maxwell Ollie Jamie Billy Roman Austin
    Felix Hunter Jackson Jesse Zac Bailey Alex Corey Jasper Ralph Ted"""
)
CHILD_FEMALE: Final = _split(
    """Olivia Amelia Isla Ava Mia Isabella Sophia Grace Lily Freya Emily Ivy Ella Rosie Evie
    Florence Poppy Charlotte Willow Sophie Daisy Sienna Phoebe Matilda Harper Millie Ruby
    Evelyn Jessica Chloe Holly Megan Lucy Hannah Ellie Emma Leah Scarlett Maisie Erin Lola
    Alice Eliza Isabelle Layla Summer Paige Caitlin Amber Lauren Bethany Katie Niamh Abigail
    Eleanor Imogen Esme Harriet Elsie Maya Zara Aria Thea Luna Lexi Darcy Bonnie Orla
    Beatrice Georgia Francesca Nancy Hallie Penelope Madison Victoria Rebecca Elizabeth
    Jasmine Molly Violet Robyn Tilly Eva Amelie Gracie Lacey Kayla Demi Skye Macy Ellis
    Naomi Anna Heidi Rose Maddison Alexandra Samantha Mary"""
)

#: Given names of parents, born about 1965–2004.
ADULT_MALE: Final = _split(
    """David Paul Mark Andrew Richard Stephen Michael Christopher James Robert Simon Darren
    Lee Matthew Daniel Jason Craig Wayne Gary Neil Ian Peter John Anthony Thomas Adam Carl
    Dean Jonathan Martin Kevin Steven Nicholas Scott Ryan Benjamin Jamie Gareth Russell
    Shaun Philip Luke Samuel Joseph Liam Aaron Ashley Ross Alexander William Kieran Callum
    Jack Nathan Sean Kyle Karl Stuart Graham Barry Alan Timothy Edward Jeremy Lewis Bradley
    Jordan Joshua Dominic Gregory Terence Raymond Kenneth Leonard Francis Vincent Patrick
    Douglas Malcolm Geoffrey Nigel Trevor Adrian Rodney Roger Jeffrey Charles Henry
    Frederick Alfred Harrison Tobias Elliot Connor Tyler Declan Jake Danny Tony Jamal
    Mohammed Tomasz Marek Ricky Lloyd Harvey Oliver Zachary Cameron"""
)
ADULT_FEMALE: Final = _split(
    """Sarah Emma Claire Lisa Nicola Michelle Rachel Kelly Laura Joanne Louise Gemma
    Samantha Amanda Helen Victoria Donna Karen Rebecca Stephanie Jennifer Katherine
    Catherine Elizabeth Hayley Natalie Jessica Amy Charlotte Zoe Kirsty Leanne Danielle
    Kerry Stacey Hannah Lucy Sophie Jade Chloe Lauren Kayleigh Jodie Tracey Julie Susan
    Angela Deborah Alison Joanna Natasha Melissa Caroline Jacqueline Sharon Emily Abigail
    Megan Bethany Georgina Rosemary Philippa Penelope Frances Gillian Theresa Veronica
    Annabelle Josephine Eleanor Harriet Alexandra Christina Christine Nicole Melanie Pamela
    Sandra Andrea Cassandra Kimberley Madeleine Lucinda Isabelle Stacy Carly Toni Aleksandra
    Agnieszka Fatima Shannon Tamsin Kate Jenny Becky Vicky Gabrielle Francesca Imogen"""
)

#: Given names of grandparents, born before about 1965.
ELDER_MALE: Final = _split(
    """John David Michael Peter Robert Anthony Brian Alan Paul Stephen Keith Christopher
    Richard Ian Kenneth Colin Geoffrey Terence Raymond Roger Trevor Barry Derek Malcolm
    Graham Philip Dennis Martin Roy Leslie Ronald Gordon Stanley Norman Donald Gerald
    Reginald Ernest Arthur Albert Frederick Herbert Douglas William Thomas James Charles
    Edward Lawrence Rodney Nigel Patrick"""
)
ELDER_FEMALE: Final = _split(
    """Susan Linda Christine Margaret Patricia Janet Carol Elizabeth Mary Jacqueline Barbara
    Pauline Sandra Gillian Jean Valerie Wendy Anne Jennifer Kathleen Maureen Sheila Brenda
    Julie Lesley Denise Dorothy Joan Irene Angela Elaine Diane Kathryn Deborah Beverley
    Teresa Rosemary Veronica Frances Hazel Sylvia Pamela Marion Doreen Josephine Catherine
    Alison Yvonne Joyce"""
)

#: Name pairs parents give twins that a careless comparison would call the same name.
TWIN_NAMES_MALE: Final[tuple[tuple[str, str], ...]] = (
    ("Jayden", "Jaydon"),
    ("Aiden", "Aidan"),
    ("Jack", "Jake"),
    ("Harry", "Harvey"),
    ("Leo", "Luca"),
    ("Alfie", "Archie"),
    ("Mason", "Jason"),
    ("Kian", "Kyle"),
    ("Ryan", "Rhys"),
    ("Finley", "Freddie"),
    ("Tyler", "Taylor"),
    ("Lewis", "Louis"),
)
TWIN_NAMES_FEMALE: Final[tuple[tuple[str, str], ...]] = (
    ("Ella", "Emma"),
    ("Mia", "Maya"),
    ("Isla", "Ivy"),
    ("Ruby", "Rosie"),
    ("Lily", "Lilly-Mae"),
    ("Olivia", "Sophia"),
    ("Holly", "Hollie-Ann"),
    ("Amelia", "Amelie"),
    ("Leah", "Lexi"),
    ("Macy", "Maisie"),
    ("Evie", "Ellie"),
    ("Grace", "Gracie"),
)

#: Common English given names with the shorter forms people are known by (~150 names).
DIMINUTIVES: Final[dict[str, tuple[str, ...]]] = {
    # male
    "William": ("Will", "Bill", "Billy", "Liam"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Robert": ("Rob", "Bob", "Bobby", "Robbie"),
    "Richard": ("Rich", "Rick", "Richie", "Dick"),
    "Thomas": ("Tom", "Tommy"),
    "Michael": ("Mike", "Mick", "Mikey"),
    "David": ("Dave", "Davy"),
    "Christopher": ("Chris", "Kit"),
    "Matthew": ("Matt", "Matty"),
    "Daniel": ("Dan", "Danny"),
    "Andrew": ("Andy", "Drew"),
    "Anthony": ("Tony", "Ant"),
    "Joseph": ("Joe", "Joey"),
    "Samuel": ("Sam", "Sammy"),
    "Benjamin": ("Ben", "Benny", "Benji"),
    "Alexander": ("Alex", "Sandy", "Alec", "Xander"),
    "Nicholas": ("Nick", "Nicky"),
    "Jonathan": ("Jon", "Jonny"),
    "Edward": ("Ed", "Eddie", "Ted", "Ned"),
    "Charles": ("Charlie", "Chas"),
    "Henry": ("Harry", "Hal"),
    "Harrison": ("Harry",),
    "Frederick": ("Fred", "Freddie"),
    "Alfred": ("Alf", "Alfie"),
    "Archibald": ("Archie",),
    "Oliver": ("Ollie", "Olly"),
    "Joshua": ("Josh",),
    "Jacob": ("Jake",),
    "Nathan": ("Nate",),
    "Nathaniel": ("Nat", "Nate"),
    "Timothy": ("Tim", "Timmy"),
    "Stephen": ("Steve",),
    "Steven": ("Steve", "Stevie"),
    "Peter": ("Pete",),
    "Patrick": ("Pat", "Paddy"),
    "Philip": ("Phil", "Pip"),
    "Gregory": ("Greg",),
    "Kenneth": ("Ken", "Kenny"),
    "Ronald": ("Ron", "Ronnie"),
    "Donald": ("Don", "Donny"),
    "Raymond": ("Ray",),
    "Gerald": ("Gerry",),
    "Terence": ("Terry",),
    "Lawrence": ("Larry", "Laurie"),
    "Leonard": ("Len", "Lenny", "Leo"),
    "Stanley": ("Stan",),
    "Albert": ("Bert", "Bertie", "Albie"),
    "Herbert": ("Bert", "Herbie"),
    "Theodore": ("Theo", "Ted", "Teddy"),
    "Sebastian": ("Seb",),
    "Maxwell": ("Max",),
    "Maximilian": ("Max",),
    "Zachary": ("Zach", "Zac"),
    "Gabriel": ("Gabe",),
    "Isaac": ("Zac", "Ike"),
    "Louis": ("Lou", "Louie"),
    "Dominic": ("Dom",),
    "Vincent": ("Vince", "Vinnie"),
    "Francis": ("Frank", "Frankie"),
    "Barry": ("Baz",),
    "Darren": ("Daz",),
    "Kevin": ("Kev",),
    "Gary": ("Gaz",),
    "Simon": ("Si",),
    "Callum": ("Cal",),
    "Cameron": ("Cam",),
    "Declan": ("Dec",),
    "Jayden": ("Jay",),
    "Tyler": ("Ty",),
    "Elijah": ("Eli",),
    "Jeremy": ("Jez", "Jerry"),
    "Jeffrey": ("Jeff",),
    "Martin": ("Marty",),
    "Douglas": ("Doug", "Dougie"),
    "Malcolm": ("Mal",),
    "Nigel": ("Nige",),
    "Russell": ("Russ",),
    "Derek": ("Del",),
    "Trevor": ("Trev",),
    "Adrian": ("Ade",),
    "Stuart": ("Stu",),
    "Geoffrey": ("Geoff",),
    "Rodney": ("Rod",),
    "Reginald": ("Reg", "Reggie"),
    "Roger": ("Rog",),
    "Ernest": ("Ernie",),
    "Arthur": ("Art", "Artie"),
    "Bradley": ("Brad",),
    "Ashley": ("Ash",),
    "Tobias": ("Toby",),
    "Finley": ("Finn",),
    "Lucas": ("Luke",),
    "Leslie": ("Les",),
    "Norman": ("Norm",),
    "Mohammed": ("Mo",),
    "Tomasz": ("Tom", "Tomek"),
    # female
    "Elizabeth": ("Beth", "Liz", "Lizzie", "Eliza", "Betty", "Libby"),
    "Margaret": ("Maggie", "Peggy", "Meg", "Daisy"),
    "Catherine": ("Cathy", "Kate", "Katie", "Cat"),
    "Katherine": ("Kate", "Katie", "Kath", "Kathy"),
    "Kathleen": ("Kath", "Kathy"),
    "Rebecca": ("Becky", "Becca"),
    "Victoria": ("Vicky", "Tori"),
    "Jennifer": ("Jen", "Jenny"),
    "Jessica": ("Jess", "Jessie"),
    "Samantha": ("Sam", "Sammy"),
    "Charlotte": ("Charlie", "Lottie"),
    "Amelia": ("Millie", "Amy", "Mia"),
    "Emily": ("Em", "Emmie"),
    "Emma": ("Em",),
    "Isabella": ("Bella", "Izzy", "Issy"),
    "Isabelle": ("Izzy", "Belle"),
    "Olivia": ("Liv", "Livvy"),
    "Sophia": ("Sophie",),
    "Sophie": ("Soph",),
    "Abigail": ("Abbie", "Abby", "Gail"),
    "Alexandra": ("Alex", "Lexi", "Sasha", "Sandra"),
    "Aleksandra": ("Ola", "Sasha"),
    "Christine": ("Chris", "Chrissie"),
    "Christina": ("Tina", "Chrissie"),
    "Deborah": ("Debbie", "Deb"),
    "Susan": ("Sue", "Susie"),
    "Patricia": ("Pat", "Trish", "Patsy"),
    "Jacqueline": ("Jackie",),
    "Stephanie": ("Steph",),
    "Nicola": ("Nicky", "Nic"),
    "Natalie": ("Nat",),
    "Natasha": ("Tash", "Tasha"),
    "Danielle": ("Dani",),
    "Gabrielle": ("Gabby",),
    "Josephine": ("Jo", "Josie"),
    "Joanne": ("Jo",),
    "Joanna": ("Jo",),
    "Eleanor": ("Ellie", "Nell", "Nora"),
    "Florence": ("Flo", "Florrie"),
    "Matilda": ("Tilly", "Tilda"),
    "Harriet": ("Hattie",),
    "Georgina": ("Georgie", "Gina"),
    "Georgia": ("Georgie",),
    "Frances": ("Fran", "Frankie"),
    "Francesca": ("Fran", "Frankie"),
    "Penelope": ("Penny",),
    "Philippa": ("Pippa", "Pip"),
    "Dorothy": ("Dot", "Dottie"),
    "Barbara": ("Babs", "Barb"),
    "Kimberley": ("Kim",),
    "Angela": ("Angie",),
    "Amanda": ("Mandy",),
    "Michelle": ("Shell",),
    "Rachel": ("Rach",),
    "Louise": ("Lou",),
    "Lucinda": ("Lucy", "Cindy"),
    "Hannah": ("Han",),
    "Madison": ("Maddie",),
    "Maddison": ("Maddie",),
    "Madeleine": ("Maddie",),
    "Mary": ("Molly", "Polly"),
    "Anne": ("Annie",),
    "Annabelle": ("Annie", "Bella"),
    "Caroline": ("Caz", "Carrie"),
    "Sarah": ("Sal", "Sally"),
    "Theresa": ("Tess", "Terri"),
    "Teresa": ("Tess", "Terri"),
    "Valerie": ("Val",),
    "Veronica": ("Ronnie",),
    "Gillian": ("Gill", "Jill"),
    "Beatrice": ("Bea", "Trixie"),
    "Evelyn": ("Evie",),
    "Imogen": ("Immy",),
    "Rosemary": ("Rosie",),
    "Rose": ("Rosie",),
    "Jasmine": ("Jas", "Jazz"),
    "Eloise": ("Ellie",),
    "Antonia": ("Toni",),
    "Andrea": ("Andie",),
    "Cassandra": ("Cass",),
    "Melissa": ("Mel", "Missy"),
    "Melanie": ("Mel",),
    "Pamela": ("Pam",),
    "Sandra": ("Sandy",),
    "Grace": ("Gracie",),
    "Megan": ("Meg",),
    "Victor": ("Vic",),
    "Jean": ("Jeannie",),
    "Irene": ("Renee",),
    "Pauline": ("Pauly",),
}

#: Surnames in England, most common first (rank weights give Smith ≫ Jones ≫ … ≫ Tapp).
SURNAMES: Final = _split(
    """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
    Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson
    Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan
    Allen James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell
    Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan
    Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb
    Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes
    Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham
    Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds
    Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer
    Gill Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong
    Francis Rees Hayes Hart Hudson Newman Barrett Webster Hunter Gregory Carr Lowe Page
    Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland Hawkins Harding Porter Robertson
    Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke Bates Henderson
    Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren
    Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor
    Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter
    Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson Reeves Hammond Ashton
    Pritchard Tucker Coombes Vowles Hembrow Pople Tapp Bryant Sparkes Chedzoy Gollop Durston
    Hooper Lock Venn Stuckey"""
)

#: Parts from which the rarer local surnames of about a third of households are composed.
RARE_SURNAME_HEADS: Final = _split(
    """Ash Black Brad Brook Bur Cald Chad Cran Dal Dun Elm Farn Gold Green Hal Hart Haw Hol
    Kings Lang Lid Mar Mid Mor Nor Oak Pem Red Rid Rom Shel Stan Stock Thorn Ward Wes Whit
    Wick Win Yar"""
)
RARE_SURNAME_TAILS: Final = _split(
    """worth more ley ford field ton combe well by ham wood stead bury cott hurst dale ridge
    wick shaw"""
)
